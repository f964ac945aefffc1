"""Socket.IO event handlers, one module per event family."""
