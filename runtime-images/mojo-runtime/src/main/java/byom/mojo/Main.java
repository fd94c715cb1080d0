package byom.mojo;

/** `java -jar byom-mojo.jar runtime` serves a ready MOJO; `processor` prepares one (docs/runtimes.md). */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    String role = args.length > 0 ? args[0] : "";
    switch (role) {
      case "runtime" -> ScorerServer.main();
      case "processor" -> System.exit(Processor.run());
      default -> {
        System.err.println("usage: java -jar byom-mojo.jar runtime|processor");
        System.exit(2);
      }
    }
  }
}
