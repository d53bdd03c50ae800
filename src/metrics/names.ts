/**
 * Every metric name nines exposes. Names are part of the public API: never rename one, add a new
 * one. Prefix `nines_`, units as suffix, `_total` for counters.
 */
export const METRICS = {
  componentUp: 'nines_component_up',
  healthCheckDurationSeconds: 'nines_health_check_duration_seconds',
  healthChecksTotal: 'nines_health_checks_total',
  availabilityRatio: 'nines_availability_ratio',
  incidentsActive: 'nines_incidents_active',
  incidentDurationSeconds: 'nines_incident_duration_seconds',
  circuitBreakerState: 'nines_circuit_breaker_state',
  circuitBreakerCallsTotal: 'nines_circuit_breaker_calls_total',
  retryAttemptsTotal: 'nines_retry_attempts_total',
  rateLimitDecisionsTotal: 'nines_rate_limit_decisions_total',
  errorBudgetRemainingRatio: 'nines_error_budget_remaining_ratio',
  sloBurnRate: 'nines_slo_burn_rate',
  httpRequestsInFlight: 'nines_http_requests_in_flight',
  scheduleLagSeconds: 'nines_schedule_lag_seconds',
  componentFlapping: 'nines_component_flapping',
  monitorConnectivitySuspect: 'nines_monitor_connectivity_suspect',
  componentDegraded: 'nines_component_degraded',
  certificateExpiryTimestampSeconds: 'nines_certificate_expiry_timestamp_seconds',
  checksDroppedTotal: 'nines_checks_dropped_total',
  storeRowsRejectedTotal: 'nines_store_rows_rejected_total',
  shutdownInProgress: 'nines_shutdown_in_progress',
  figuresEvaluatedTimestampSeconds: 'nines_figures_evaluated_timestamp_seconds',
  notificationsTotal: 'nines_notifications_total',
  subscriberNotificationsTotal: 'nines_subscriber_notifications_total',
  loadShedDecisionsTotal: 'nines_load_shed_decisions_total',
  loadShedOverloaded: 'nines_load_shed_overloaded',
  loadShedDelayLimitSeconds: 'nines_load_shed_delay_limit_seconds',
} as const;
