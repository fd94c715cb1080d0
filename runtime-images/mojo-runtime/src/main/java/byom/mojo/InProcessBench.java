package byom.mojo;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import hex.genmodel.easy.RowData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * `java -jar byom-mojo.jar bench <mojo.zip> <request.json> <repeats>`: the in-process baseline of
 * bench/mojo.ts. Times what a Java user of h2o-genmodel does for a batch (RowData per row, then
 * predict), after a warm-up; prints {"medianMs": …, "rows": …} as JSON on stdout.
 */
public final class InProcessBench {
  private InProcessBench() {}

  public static void main(String[] args) throws Exception {
    MojoScorer scorer = MojoScorer.load(args[0]);
    JsonObject request = JsonParser.parseString(Files.readString(Path.of(args[1]), StandardCharsets.UTF_8))
        .getAsJsonObject();
    int repeats = Integer.parseInt(args[2]);
    List<String> fields = new ArrayList<>();
    for (JsonElement field : request.getAsJsonArray("fields")) fields.add(field.getAsString());
    JsonArray rows = request.getAsJsonArray("rows");
    List<Column> inputs = scorer.inputColumns();
    double[] times = new double[repeats];
    for (int round = -3; round < repeats; round++) {
      long started = System.nanoTime();
      for (JsonElement element : rows) {
        JsonArray row = element.getAsJsonArray();
        RowData data = new RowData();
        for (int i = 0; i < fields.size(); i++) {
          String name = fields.get(i);
          boolean categorical = inputs.stream().anyMatch(c -> c.name().equals(name) && c.type().equals("String"));
          JsonElement value = row.get(i);
          if (!value.isJsonNull()) data.put(name, categorical ? value.getAsString() : (Object) value.getAsDouble());
        }
        scorer.predict(data);
      }
      if (round >= 0) times[round] = (System.nanoTime() - started) / 1e6;
    }
    Arrays.sort(times);
    System.out.println("{\"medianMs\": " + times[repeats / 2] + ", \"rows\": " + rows.size() + "}");
  }
}
