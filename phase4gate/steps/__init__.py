"""One module per work package: ``run(ctx: StepContext) -> StepOutcome``."""
