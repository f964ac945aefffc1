"""The platform's own Prometheus series (the HTTP ones come from shared_models.runtime.telemetry)."""

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_DEPTH = Gauge("outbox_pending_events", "Domain events in the outbox not yet dispatched.")
WEBHOOK_OUTCOMES = Counter(
    "stripe_webhook_deliveries_total", "Stripe webhook deliveries by outcome.", ["outcome"]
)
JOB_LAG = Gauge("scheduler_job_lag_seconds", "How late the last run of each job started.", ["job"])
JOB_RUNS = Counter("scheduler_job_runs_total", "Scheduled job runs by job and outcome.", ["job", "outcome"])
JOB_DURATION = Histogram("scheduler_job_duration_seconds", "Scheduled job run time.", ["job"])
