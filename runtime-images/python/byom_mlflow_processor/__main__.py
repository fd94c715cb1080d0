from byom_mlflow_processor.process import process
from byom_ready.processing import run_processor

if __name__ == "__main__":
    run_processor(process)
