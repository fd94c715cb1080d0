package byom.mojo;

import java.util.List;
import java.util.Map;

/**
 * A checked score request: per input column (schema order) the converted values, the id column and
 * the echoed columns as text. Values are Double (numbers, booleans as 1/0, times as epoch
 * milliseconds, as H2O holds them), String, or null for a missing value.
 */
public record ScoreRequest(
    Object[][] columns,
    int rowCount,
    List<String> ids,
    String idField,
    List<Map.Entry<String, List<String>>> included,
    boolean noFieldNames) {}
