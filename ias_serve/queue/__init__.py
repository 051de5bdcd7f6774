"""Usage queue (NATS JetStream): the stream's configuration and the gateway's publisher."""

from ias_serve.queue.jetstream import UsageStreamLimits, ensure_usage_stream, usage_stream_config
from ias_serve.queue.publisher import UsagePublisher

__all__ = ["UsagePublisher", "UsageStreamLimits", "ensure_usage_stream", "usage_stream_config"]
