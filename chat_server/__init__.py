"""The standalone real-time server (python-socketio over ASGI): connections, rooms, messages, live notifications."""
