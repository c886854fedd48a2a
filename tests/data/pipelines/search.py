"""A pipeline with a hyperparameter search whose best learning rate a training step uses (tests)."""

from mlplane.components.pipeline.experiment_spec import ExperimentStepSpec, Objective, SearchParameter, TrialSpec
from mlplane.components.pipeline.spec import ContainerStepSpec, PipelineSpec, output_placeholder
from mlplane.pipelines.native import pipeline


@pipeline
def search_pipeline(context, trials: int = 6, low: float = 0.001) -> PipelineSpec:
    """Search lr and optimizer, then train with the best of both."""
    return PipelineSpec(name=context.pipeline, steps=(
        ExperimentStepSpec(
            name="tune",
            objective=Objective(type="maximize", metric="accuracy", goal=0.99),
            algorithm="random",
            parameters=(SearchParameter(name="lr", type="double", min=low, max=0.1),
                        SearchParameter(name="optimizer", type="categorical", values=("sgd", "adam"))),
            trial=TrialSpec(image="trainer:1.2.0", command=("python", "train.py"),
                            args=("--lr", "${trialParameters.lr}", "--optimizer", "${trialParameters.optimizer}")),
            max_trials=trials, parallel_trials=2,
        ),
        ContainerStepSpec(name="train", image="trainer:1.2.0", command=("python", "train.py"),
                          args=("--lr", output_placeholder("tune", "lr"),
                                "--optimizer", output_placeholder("tune", "optimizer"))),
    ))
