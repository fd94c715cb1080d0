package byom.mojo;

/**
 * `java -jar byom-mojo.jar runtime` serves a ready MOJO; `processor` prepares one (docs/runtimes.md);
 * `bench` is bench/mojo.ts's in-process baseline.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    String role = args.length > 0 ? args[0] : "";
    switch (role) {
      case "runtime" -> ScorerServer.main();
      case "processor" -> System.exit(Processor.run());
      case "bench" -> InProcessBench.main(java.util.Arrays.copyOfRange(args, 1, args.length));
      default -> {
        System.err.println("usage: java -jar byom-mojo.jar runtime|processor");
        System.exit(2);
      }
    }
  }
}
