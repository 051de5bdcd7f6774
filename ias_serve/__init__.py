"""IAS: Inference-as-a-Service. The library: no Ray imports here (see deployments/)."""

__version__ = "0.1.0"
