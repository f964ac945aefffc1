# One image for both services; docker-compose picks the command (platform or chat server).
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared_models ./shared_models
COPY platform_api ./platform_api
COPY chat_server ./chat_server
COPY scripts ./scripts
RUN pip install . && useradd --system --uid 10001 app
USER app
EXPOSE 8000 8001
ENV ENVIRONMENT=production LOG_JSON=true
CMD ["uvicorn", "--factory", "platform_api.main:app_from_env", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
