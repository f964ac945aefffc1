"""The data both services share: documents (`documents`), enums, ids, the clock, the notification
catalogue (`notifications`) and the text rules of request fields (`text`). What both services *run* lives in
two named subpackages: `services` (one module per domain) and `runtime` (process plumbing); the engine
gateway is `store`.

No web code lives here: neither FastAPI, Starlette nor Socket.IO is imported by this package (a test checks).
"""
