"""What both services run, one module per domain: `conversations`, `notifications` (the one creation path
and the mail queue), `sessions` (with its cache, `session_cache`), `media`, `outbox`. Each domain's service
in `platform_api/<domain>/` (and the chat server's handlers) delegates here; documents stay in
`shared_models.documents`."""
