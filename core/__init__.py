"""Cross-cutting infrastructure shared by every app: public ids, domain errors, actors, API plumbing, health."""
