"""The labelling page: people answer a rubric's criteria for a run's responses, for calibration."""
