package byom.mojo;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The ready-model manifest `byom-model.json` (docs/runtimes.md), in the same format the Python
 * processors write; for a MOJO `loader` is `h2o-genmodel` and `modelPath` names the MOJO zip.
 */
public final class Manifest {
  public static final String FILE = "byom-model.json";
  private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

  public final JsonObject json;

  private Manifest(JsonObject json) {
    this.json = json;
  }

  public static Manifest create(JsonObject json) {
    return new Manifest(json);
  }

  public static Manifest read(Path modelDir) throws IOException {
    Path file = modelDir.resolve(FILE);
    if (!Files.isRegularFile(file)) {
      throw new IOException(modelDir + " has no " + FILE + ": MODEL_PATH must be the output of the h2o3-mojo-processor");
    }
    return new Manifest(JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject());
  }

  /** Written to a temporary name and renamed: a reader never sees half a manifest. */
  public void write(Path modelDir) throws IOException {
    Path temporary = modelDir.resolve(FILE + ".tmp");
    Files.writeString(temporary, GSON.toJson(json) + "\n", StandardCharsets.UTF_8);
    Files.move(temporary, modelDir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE);
  }

  public String string(String key) {
    JsonElement value = json.get(key);
    return value == null || value.isJsonNull() ? null : value.getAsString();
  }

  public List<Column> schema(String key) {
    List<Column> columns = new ArrayList<>();
    JsonElement value = json.get(key);
    if (value == null || !value.isJsonArray()) return columns;
    for (JsonElement column : value.getAsJsonArray()) {
      JsonObject c = column.getAsJsonObject();
      columns.add(new Column(c.get("name").getAsString(), Column.canonical(c.get("type").getAsString())));
    }
    return columns;
  }

  public static JsonArray schemaJson(List<Column> columns) {
    JsonArray array = new JsonArray();
    for (Column column : columns) {
      JsonObject c = new JsonObject();
      c.addProperty("name", column.name());
      c.addProperty("type", column.type());
      array.add(c);
    }
    return array;
  }
}
