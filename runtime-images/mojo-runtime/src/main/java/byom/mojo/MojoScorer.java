package byom.mojo;

import hex.ModelCategory;
import hex.genmodel.MojoModel;
import hex.genmodel.easy.EasyPredictModelWrapper;
import hex.genmodel.easy.RowData;
import hex.genmodel.easy.prediction.AbstractPrediction;
import hex.genmodel.easy.prediction.BinomialModelPrediction;
import hex.genmodel.easy.prediction.MultinomialModelPrediction;
import hex.genmodel.easy.prediction.RegressionModelPrediction;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * An H2O-3 MOJO loaded with h2o-genmodel: its input and output columns in model-schema types, and
 * predictions as the scorer API's text. Serves binomial, multinomial and regression models.
 * EasyPredictModelWrapper is safe to share between threads.
 */
public final class MojoScorer {
  /** Model categories this runtime answers; others are refused at processing with this list. */
  public static final List<ModelCategory> SERVED =
      List.of(ModelCategory.Binomial, ModelCategory.Multinomial, ModelCategory.Regression);

  private final MojoModel model;
  private final EasyPredictModelWrapper wrapper;
  private final ModelCategory category;

  private MojoScorer(MojoModel model) {
    this.model = model;
    this.category = model.getModelCategory();
    // Unknown categorical levels score as missing, as H2O itself scores them in process.
    this.wrapper = new EasyPredictModelWrapper(new EasyPredictModelWrapper.Config()
        .setModel(model)
        .setConvertUnknownCategoricalLevelsToNa(true));
  }

  /** Loads a MOJO zip; IOException (or a RuntimeException from genmodel) when it is not one. */
  public static MojoScorer load(String path) throws IOException {
    return new MojoScorer(MojoModel.load(path));
  }

  public ModelCategory category() {
    return category;
  }

  public boolean served() {
    return SERVED.contains(category);
  }

  public String responseName() {
    return model.getResponseName();
  }

  /** The features as the MOJO reads them: categorical columns are String, the others Float64. */
  public List<Column> inputColumns() {
    List<Column> columns = new ArrayList<>();
    String[] names = model.getNames();
    for (int i = 0; i < model.nfeatures(); i++) {
      columns.add(new Column(names[i], model.getDomainValues(i) == null ? "Float64" : "String"));
    }
    return columns;
  }

  /** The levels of a categorical feature, or null for a numeric one. */
  public String[] levels(String feature) {
    String[] names = model.getNames();
    for (int i = 0; i < model.nfeatures(); i++) if (names[i].equals(feature)) return model.getDomainValues(i);
    return null;
  }

  /** `predict` (the label for classifiers), then one probability per class, `<response>.<class>`. */
  public List<Column> outputColumns() {
    List<Column> columns = new ArrayList<>();
    if (category == ModelCategory.Regression) {
      columns.add(new Column("predict", "Float64"));
      return columns;
    }
    columns.add(new Column("predict", "String"));
    for (String level : model.getDomainValues(model.getResponseIdx())) {
      columns.add(new Column(model.getResponseName() + "." + level, "Float64"));
    }
    return columns;
  }

  /** One row's output values as text, in outputColumns() order. */
  public String[] predict(RowData row) throws Exception {
    AbstractPrediction prediction = switch (category) {
      case Binomial -> wrapper.predictBinomial(row);
      case Multinomial -> wrapper.predictMultinomial(row);
      case Regression -> wrapper.predictRegression(row);
      default -> throw new IllegalStateException("model category " + category + " is not served");
    };
    if (prediction instanceof RegressionModelPrediction regression) {
      return new String[] {PyText.repr(regression.value)};
    }
    String label;
    double[] probabilities;
    if (prediction instanceof BinomialModelPrediction binomial) {
      label = binomial.label;
      probabilities = binomial.classProbabilities;
    } else {
      MultinomialModelPrediction multinomial = (MultinomialModelPrediction) prediction;
      label = multinomial.label;
      probabilities = multinomial.classProbabilities;
    }
    String[] out = new String[probabilities.length + 1];
    out[0] = label;
    for (int i = 0; i < probabilities.length; i++) out[i + 1] = PyText.repr(probabilities[i]);
    return out;
  }
}
