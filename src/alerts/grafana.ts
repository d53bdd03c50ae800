import { PanelBuilder as BarGauge } from '@grafana/grafana-foundation-sdk/bargauge';
import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type ValueMap,
  VariableRefresh,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as Stat } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimeline } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TimeSeries } from '@grafana/grafana-foundation-sdk/timeseries';
import type { NinesConfig } from '../config/index.js';
import { METRICS } from '../metrics/names.js';

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, resolved by Grafana
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** A Prometheus query of the dashboard; `legend` is Grafana's legend format. */
function query(expr: string, legend: string): DataqueryBuilder {
  return new DataqueryBuilder().datasource(DATASOURCE).expr(expr).legendFormat(legend);
}

const component = 'component=~"$component"';
const slo = 'slo=~"$slo"';
/** The worst value over every nines exporting a series (HA pairs, several jobs), as the recording rules take it. */
const worst = (agg: 'max' | 'min', selector: string) => `${agg} without (instance, job) (${selector})`;

/** Shows each value as a text in a colour. */
function valueMap(texts: Record<string, [text: string, color: string]>): ValueMap {
  const options = Object.fromEntries(Object.entries(texts).map(([value, [text, color]]) => [value, { text, color }]));
  return { type: MappingType.ValueToText, options };
}

/** Red under a week left, orange under the certificate rule's default 14 days, green beyond. */
function certificateThresholds(): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
    { value: null, color: 'red' },
    { value: 7 * 86_400, color: 'orange' },
    { value: 14 * 86_400, color: 'green' },
  ]);
}

/** Green above a quarter of the budget left, orange below, red once it is spent. */
function budgetThresholds(): ThresholdsConfigBuilder {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
    { value: null, color: 'red' },
    { value: 0, color: 'orange' },
    { value: 0.25, color: 'green' },
  ]);
}

/**
 * Every PromQL expression of the dashboard, by panel: availability per component, up, incidents,
 * error budget remaining, burn rates, check latency and failure rate, circuit breaker states, time
 * left on TLS certificates. The test sends each to a real Prometheus.
 */
export const DASHBOARD_QUERIES = {
  up: worst('min', `${METRICS.componentUp}{${component}}`),
  availability: worst('min', `${METRICS.availabilityRatio}{${component}, window="$window"}`),
  incidents: worst('max', `${METRICS.incidentsActive}{${component}}`),
  budget: worst('min', `${METRICS.errorBudgetRemainingRatio}{${slo}}`),
  burn: worst('max', `${METRICS.sloBurnRate}{${slo}}`),
  latencyP50: `histogram_quantile(0.5, sum by (component, le) (rate(${METRICS.healthCheckDurationSeconds}_bucket{${component}}[$__rate_interval])))`,
  latencyP99: `histogram_quantile(0.99, sum by (component, le) (rate(${METRICS.healthCheckDurationSeconds}_bucket{${component}}[$__rate_interval])))`,
  failureRate: `sum by (component) (rate(${METRICS.healthChecksTotal}{${component}, status="unhealthy"}[$__rate_interval])) / sum by (component) (rate(${METRICS.healthChecksTotal}{${component}}[$__rate_interval]))`,
  breakers: `max by (name, state) (${METRICS.circuitBreakerState}) == 1`,
  certificates: `${worst('min', `${METRICS.certificateExpiryTimestampSeconds}{${component}}`)} - time()`,
} as const;

const Q = DASHBOARD_QUERIES;

/** The Grafana dashboard of the nines_ metrics, built with Grafana's typed builder (foundation SDK), not hand-written JSON. */
export function grafanaDashboard(config: Pick<NinesConfig, 'page'>): ReturnType<DashboardBuilder['build']> {
  const labelVariable = (name: string, metric: string) =>
    new QueryVariableBuilder(name)
      .label(name)
      .datasource(DATASOURCE)
      .query(`label_values(${metric}, ${name})`)
      .definition(`label_values(${metric}, ${name})`)
      .refresh(VariableRefresh.OnTimeRangeChanged) // components come and go with the config
      .multi(true)
      .includeAll(true)
      .allValue('.*');
  return new DashboardBuilder(`nines: ${config.page.title}`)
    .uid('nines-availability')
    .tags(['nines', 'availability', 'slo'])
    .refresh('30s')
    .time({ from: 'now-24h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'))
    .withVariable(labelVariable('component', METRICS.componentUp))
    .withVariable(labelVariable('slo', METRICS.errorBudgetRemainingRatio))
    .withVariable(
      new QueryVariableBuilder('window')
        .label('window')
        .datasource(DATASOURCE)
        .query(`label_values(${METRICS.availabilityRatio}, window)`)
        .definition(`label_values(${METRICS.availabilityRatio}, window)`)
        .current({ text: '30d', value: '30d' }),
    )
    .withRow(new RowBuilder('Components'))
    .withPanel(
      new Stat()
        .title('Up')
        .description('1 when the component is not unhealthy (nines_component_up)')
        .withTarget(query(Q.up, '{{component}}'))
        .mappings([valueMap({ '0': ['DOWN', 'red'], '1': ['UP', 'green'] })])
        .span(8)
        .height(5),
    )
    .withPanel(
      new BarGauge()
        .title('Availability over $window')
        .description('Time-weighted: uptime / observed time; unobserved time counts neither way')
        .withTarget(query(Q.availability, '{{component}}'))
        .unit('percentunit')
        .decimals(3)
        .min(0.99)
        .max(1)
        .span(8)
        .height(5),
    )
    .withPanel(
      new StateTimeline()
        .title('Open incidents')
        .withTarget(query(Q.incidents, '{{component}}'))
        .mappings([valueMap({ '0': ['ok', 'green'], '1': ['incident', 'red'] })])
        .span(8)
        .height(5),
    )
    .withRow(new RowBuilder('SLOs'))
    .withPanel(
      new Stat()
        .title('Error budget remaining')
        .withTarget(query(Q.budget, '{{slo}}'))
        .unit('percentunit')
        .thresholds(budgetThresholds())
        .span(8)
        .height(6),
    )
    .withPanel(
      new TimeSeries()
        .title('Burn rate')
        .description('1 spends the budget exactly over the SLO window; pages above 14.4 (1 h and 5 m) or 6 (6 h and 30 m) for a 30-day SLO')
        .withTarget(query(Q.burn, '{{slo}} {{window}}'))
        .span(16)
        .height(6),
    )
    .withRow(new RowBuilder('Checks'))
    .withPanel(
      new TimeSeries()
        .title('Check latency')
        .withTarget(query(Q.latencyP50, 'p50 {{component}}'))
        .withTarget(query(Q.latencyP99, 'p99 {{component}}'))
        .unit('s')
        .span(12)
        .height(7),
    )
    .withPanel(
      new TimeSeries()
        .title('Failed checks')
        .withTarget(query(Q.failureRate, '{{component}}'))
        .unit('percentunit')
        .min(0)
        .span(12)
        .height(7),
    )
    .withRow(new RowBuilder('TLS certificates'))
    .withPanel(
      new Stat()
        .title('Certificate expires in')
        .description(
          'Time left on the certificate each https or tlsCertificate check last saw (nines_certificate_expiry_timestamp_seconds)',
        )
        .withTarget(query(Q.certificates, '{{component}}'))
        .unit('dtdurations')
        .thresholds(certificateThresholds())
        .span(24)
        .height(4),
    )
    .withRow(new RowBuilder('Circuit breakers (services using nines)'))
    .withPanel(new StateTimeline().title('Circuit breaker state').withTarget(query(Q.breakers, '{{name}} {{state}}')).span(24).height(6))
    .build();
}

/** {@link grafanaDashboard} as the JSON Grafana imports. */
export function grafanaDashboardJson(config: Pick<NinesConfig, 'page'>): string {
  return `${JSON.stringify(grafanaDashboard(config), null, 2)}\n`;
}
