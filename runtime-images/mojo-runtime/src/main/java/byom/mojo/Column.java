package byom.mojo;

import java.util.Locale;
import java.util.Map;

/** One schema column: a name and a canonical model-schema type (docs/data-model.md). */
public record Column(String name, String type) {
  private static final Map<String, String> CANONICAL = Map.of(
      "boolean", "Boolean", "time64", "Time64", "float32", "Float32", "float64", "Float64",
      "int32", "Int32", "int64", "Int64", "string", "String");

  /** The canonical spelling of a type, or null when it is not a schema type. */
  public static String canonical(String type) {
    return type == null ? null : CANONICAL.get(type.toLowerCase(Locale.ROOT));
  }

  /** The scorer API's name for the type: Boolean is Bool, String is Str. */
  public String dataType() {
    return switch (type) {
      case "Boolean" -> "Bool";
      case "String" -> "Str";
      default -> type;
    };
  }

  public boolean numeric() {
    return type.startsWith("Float") || type.startsWith("Int");
  }
}
