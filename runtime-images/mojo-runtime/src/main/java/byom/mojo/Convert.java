package byom.mojo;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Score requests → typed columns, following the input rules of docs/runtimes.md ("Scorer API
 * behaviour") with the same checks, in the same order and with the same messages as the Python
 * runtimes (runtime-images/python/byom_scorer/convert.py), so a client sees one behaviour.
 */
public final class Convert {
  private Convert() {}

  private static final Set<String> MISSING = Set.of("", "na", "nan", "null", "none");
  private static final Set<String> TRUE = Set.of("true", "1", "yes", "y", "t");
  private static final Set<String> FALSE = Set.of("false", "0", "no", "n", "f");
  private static final BigInteger INT32_MIN = BigInteger.valueOf(Integer.MIN_VALUE);
  private static final BigInteger INT32_MAX = BigInteger.valueOf(Integer.MAX_VALUE);
  private static final BigInteger INT64_MIN = BigInteger.valueOf(Long.MIN_VALUE);
  private static final BigInteger INT64_MAX = BigInteger.valueOf(Long.MAX_VALUE);
  private static final Pattern DECIMAL =
      Pattern.compile("[+-]?(\\d+(_\\d+)*)?(\\.(\\d+(_\\d+)*)?)?([eE][+-]?\\d+(_\\d+)*)?");
  private static final Pattern INTEGER = Pattern.compile("[+-]?\\d+(_\\d+)*");

  /** A value that does not convert; the caller names the field and row. */
  static final class Bad extends Exception {
    private static final long serialVersionUID = 1L;

    Bad(String reason) {
      super(reason, null, false, false);
    }
  }

  public static ScoreRequest parse(JsonElement body, List<Column> schema) {
    if (body == null || !body.isJsonObject()) {
      throw RequestError.badRequest("the request must be a JSON object {\"fields\": [...], \"rows\": [[...]]}");
    }
    JsonObject request = body.getAsJsonObject();
    List<String> fields = names(request.get("fields"), "\"fields\" must be a list of field names");
    JsonElement rowsValue = request.get("rows");
    if (rowsValue == null || !rowsValue.isJsonArray()) {
      throw RequestError.badRequest("\"rows\" must be a list of rows, each a list of values");
    }
    JsonElement idValue = request.get("idField");
    String idField = null;
    if (idValue != null && !idValue.isJsonNull()) {
      if (!isString(idValue)) throw RequestError.badRequest("\"idField\" must be a field name");
      idField = idValue.getAsString();
    }
    JsonElement includeValue = request.get("includeFieldsInOutput");
    List<String> include = includeValue == null || isFalsy(includeValue)
        ? List.of()
        : names(includeValue, "\"includeFieldsInOutput\" must be a list of field names");
    JsonElement noNamesValue = request.get("noFieldNamesInOutput");
    boolean noFieldNames = false;
    if (noNamesValue != null) {
      if (!(noNamesValue.isJsonPrimitive() && noNamesValue.getAsJsonPrimitive().isBoolean())) {
        throw RequestError.badRequest("\"noFieldNamesInOutput\" must be true or false");
      }
      noFieldNames = noNamesValue.getAsBoolean();
    }

    Map<String, Integer> position = new HashMap<>();
    Set<String> known = new TreeSet<>();
    for (Column column : schema) known.add(column.name());
    for (int index = 0; index < fields.size(); index++) {
      String name = fields.get(index);
      Integer seen = position.get(name);
      if (seen != null) {
        throw RequestError.badRequest(
            "field " + PyText.quote(name) + " appears twice in fields (positions " + seen + " and " + index + ")");
      }
      if (!known.contains(name) && !name.equals(idField)) {
        throw RequestError.badRequest("unknown field " + PyText.quote(name) + " at position " + index
            + ": the model's fields are " + PyText.list(new ArrayList<>(known)));
      }
      position.put(name, index);
    }
    for (Column column : schema) {
      if (!position.containsKey(column.name())) {
        throw RequestError.badRequest(
            "missing required field " + PyText.quote(column.name()) + " (" + column.type() + ")");
      }
    }
    for (String name : include) {
      if (!position.containsKey(name)) {
        throw RequestError.badRequest(
            "includeFieldsInOutput names " + PyText.quote(name) + ", which is not in fields");
      }
    }

    JsonArray rows = rowsValue.getAsJsonArray();
    int width = fields.size();
    for (int r = 0; r < rows.size(); r++) {
      JsonElement row = rows.get(r);
      if (!row.isJsonArray() || row.getAsJsonArray().size() != width) {
        String size = row.isJsonArray() ? String.valueOf(row.getAsJsonArray().size()) : "not a list";
        throw RequestError.badRequest("rows[" + r + "] has " + size + " values; fields has " + width);
      }
    }
    int count = rows.size();
    Object[][] columns = new Object[schema.size()][];
    for (int c = 0; c < schema.size(); c++) {
      Column column = schema.get(c);
      int at = position.get(column.name());
      Object[] values = new Object[count];
      for (int r = 0; r < count; r++) {
        JsonElement value = rows.get(r).getAsJsonArray().get(at);
        try {
          values[r] = convert(value, column.type());
        } catch (Bad bad) {
          throw RequestError.badRequest("rows[" + r + "] field " + PyText.quote(column.name()) + " (position " + at
              + "): " + PyText.repr(value) + " is not a valid " + column.type() + ": " + bad.getMessage());
        }
      }
      columns[c] = values;
    }
    List<String> ids = null;
    if (idField != null) {
      ids = new ArrayList<>(count);
      Integer at = position.get(idField);
      for (int r = 0; r < count; r++) {
        ids.add(at != null ? PyText.text(rows.get(r).getAsJsonArray().get(at)) : UUID.randomUUID().toString());
      }
    }
    List<Map.Entry<String, List<String>>> included = new ArrayList<>();
    for (String name : include) {
      if (name.equals(idField)) continue;
      int at = position.get(name);
      List<String> values = new ArrayList<>(count);
      for (int r = 0; r < count; r++) values.add(PyText.text(rows.get(r).getAsJsonArray().get(at)));
      included.add(new AbstractMap.SimpleImmutableEntry<>(name, values));
    }
    return new ScoreRequest(columns, count, ids, idField, included, noFieldNames);
  }

  private static List<String> names(JsonElement value, String message) {
    if (value == null || !value.isJsonArray()) throw RequestError.badRequest(message);
    List<String> names = new ArrayList<>();
    for (JsonElement name : value.getAsJsonArray()) {
      if (!isString(name)) throw RequestError.badRequest(message);
      names.add(name.getAsString());
    }
    return names;
  }

  private static boolean isString(JsonElement value) {
    return value.isJsonPrimitive() && value.getAsJsonPrimitive().isString();
  }

  /** Python's `x or []`: null, false, 0, "" and empty containers count as absent. */
  private static boolean isFalsy(JsonElement value) {
    if (value.isJsonNull()) return true;
    if (value.isJsonArray()) return value.getAsJsonArray().isEmpty();
    if (value.isJsonObject()) return value.getAsJsonObject().size() == 0;
    JsonPrimitive p = value.getAsJsonPrimitive();
    if (p.isBoolean()) return !p.getAsBoolean();
    if (p.isNumber()) return p.getAsDouble() == 0;
    return p.getAsString().isEmpty();
  }

  /** One value to what H2O holds (Double or String), or null for missing. */
  static Object convert(JsonElement value, String type) throws Bad {
    return switch (type) {
      case "Float64" -> toFloat(value, false);
      case "Float32" -> toFloat(value, true);
      case "Int64" -> toInt(value, INT64_MIN, INT64_MAX);
      case "Int32" -> toInt(value, INT32_MIN, INT32_MAX);
      case "Boolean" -> toBool(value) ? 1.0 : 0.0;
      case "String" -> toStr(value);
      default -> toTime(value);
    };
  }

  private static String pythonType(JsonElement value) {
    if (value.isJsonArray()) return "list";
    if (value.isJsonObject()) return "dict";
    return "value";
  }

  private static Double toFloat(JsonElement value, boolean float32) throws Bad {
    if (value.isJsonNull()) return null;
    double number;
    if (value.isJsonPrimitive() && value.getAsJsonPrimitive().isBoolean()) throw new Bad("a boolean is not a number");
    if (value.isJsonPrimitive() && value.getAsJsonPrimitive().isNumber()) {
      number = value.getAsDouble();
    } else if (isString(value)) {
      String text = value.getAsString().strip();
      if (MISSING.contains(text.toLowerCase(Locale.ROOT))) return null;
      Double parsed = parseFloat(text);
      if (parsed == null) throw new Bad("not a number");
      number = parsed;
    } else {
      throw new Bad("a " + pythonType(value) + " is not a number");
    }
    if (float32) {
      if (Double.isFinite(number) && Math.abs(number) > Float.MAX_VALUE) throw new Bad("out of the Float32 range");
      return (double) (float) number;
    }
    return Double.isNaN(number) ? null : number;
  }

  /** Python's float(text) for text that is not a missing marker; null when it is not a number. */
  private static Double parseFloat(String text) {
    String lower = text.toLowerCase(Locale.ROOT);
    String unsigned = lower.startsWith("+") || lower.startsWith("-") ? lower.substring(1) : lower;
    if (unsigned.equals("inf") || unsigned.equals("infinity")) {
      return lower.startsWith("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
    }
    if (unsigned.equals("nan")) return Double.NaN;
    if (!DECIMAL.matcher(text).matches() || !text.matches(".*\\d.*")) return null;
    try {
      return Double.parseDouble(text.replace("_", ""));
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static Double toInt(JsonElement value, BigInteger min, BigInteger max) throws Bad {
    if (value.isJsonNull()
        || (isString(value) && MISSING.contains(value.getAsString().strip().toLowerCase(Locale.ROOT)))) {
      throw new Bad("missing: integer columns have no missing value, send a number");
    }
    if (value.isJsonPrimitive() && value.getAsJsonPrimitive().isBoolean()) throw new Bad("a boolean is not an integer");
    BigInteger number;
    if (value.isJsonPrimitive() && value.getAsJsonPrimitive().isNumber()) {
      String raw = value.getAsString();
      if (PyText.isIntegerLiteral(raw)) {
        number = new BigInteger(raw);
      } else {
        number = integral(value.getAsDouble());
      }
    } else if (isString(value)) {
      String text = value.getAsString().strip();
      if (INTEGER.matcher(text).matches()) {
        number = new BigInteger(text.replace("_", ""));
      } else {
        Double parsed = parseFloat(text);
        if (parsed == null) throw new Bad("not an integer");
        number = integral(parsed);
      }
    } else {
      throw new Bad("a " + pythonType(value) + " is not an integer");
    }
    if (number.compareTo(min) < 0 || number.compareTo(max) > 0) throw new Bad("out of range");
    return number.doubleValue();
  }

  private static BigInteger integral(double number) throws Bad {
    if (Double.isNaN(number) || Double.isInfinite(number)) throw new Bad("not an integer");
    if (number != Math.rint(number)) throw new Bad("has a fractional part");
    return new BigDecimal(number).toBigIntegerExact();
  }

  private static boolean toBool(JsonElement value) throws Bad {
    if (value.isJsonPrimitive()) {
      JsonPrimitive p = value.getAsJsonPrimitive();
      if (p.isBoolean()) return p.getAsBoolean();
      if (p.isNumber() && PyText.isIntegerLiteral(p.getAsString())) {
        String digits = new BigInteger(p.getAsString()).toString();
        if (digits.equals("1")) return true;
        if (digits.equals("0")) return false;
      }
      if (p.isString()) {
        String text = p.getAsString().strip().toLowerCase(Locale.ROOT);
        if (TRUE.contains(text)) return true;
        if (FALSE.contains(text)) return false;
      }
    }
    throw new Bad("not a boolean (true/false)");
  }

  private static String toStr(JsonElement value) throws Bad {
    if (value.isJsonNull()) return null;
    if (value.isJsonPrimitive()) return PyText.text(value);
    throw new Bad("a " + pythonType(value) + " is not a string");
  }

  private static Double toTime(JsonElement value) throws Bad {
    if (value.isJsonNull()) return null;
    if (!isString(value)) throw new Bad("a time must be an ISO 8601 / RFC 3339 string");
    String text = value.getAsString().strip();
    if (MISSING.contains(text.toLowerCase(Locale.ROOT))) return null;
    String iso = text.length() > 10 && text.charAt(10) == ' ' ? text.substring(0, 10) + "T" + text.substring(11) : text;
    try {
      return (double) OffsetDateTime.parse(iso.replace("z", "Z")).toInstant().toEpochMilli();
    } catch (DateTimeParseException notOffset) {
      try {
        return (double) LocalDateTime.parse(iso).toInstant(ZoneOffset.UTC).toEpochMilli();
      } catch (DateTimeParseException notLocal) {
        try {
          return (double) LocalDate.parse(iso).atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli();
        } catch (DateTimeParseException notDate) {
          throw new Bad("not an ISO 8601 / RFC 3339 time");
        }
      }
    }
  }
}
