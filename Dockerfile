# One image for both services; docker-compose picks the command (platform or chat server).

# The sources, once for both stages below.
FROM python:3.11-slim AS source
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared_models ./shared_models
COPY platform_api ./platform_api
COPY chat_server ./chat_server
COPY scripts ./scripts

# The admin console (platform_api/admin/web): type-checked against the API's OpenAPI document and bundled,
# which needs the Python app (to write that document) and Node.js; only its dist/ goes into the image.
FROM source AS console
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
RUN pip install . && python -m scripts.console build

FROM source AS base
COPY --from=console /app/platform_api/admin/web/dist ./platform_api/admin/web/dist
RUN pip install . && useradd --system --uid 10001 app
USER app
EXPOSE 8000 8001
ENV ENVIRONMENT=production LOG_JSON=true
CMD ["uvicorn", "--factory", "platform_api.main:app_from_env", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
