// uPlot, the monitor's (flower) time-series charts.
export { default as uPlot } from 'uplot';
