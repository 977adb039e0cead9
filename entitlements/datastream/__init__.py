"""The WebSocket door (``/datastream``): the consumer, the per-process hub, the broadcast of changes after commit, the
messages it sends and the pushes at window boundaries."""
