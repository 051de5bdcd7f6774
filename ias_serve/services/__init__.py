"""Use cases as plain classes taking their collaborators in the constructor (no Ray, no HTTP)."""
