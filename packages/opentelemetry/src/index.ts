export { type AzothMetricsOptions, registerAzothMetrics } from './register-azoth-metrics.js'
