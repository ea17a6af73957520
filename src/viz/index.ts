// viz: charts through Vega-Lite (SVG without a canvas, PNG through resvg), and the training
// diagnostics of makemore part 3 that any model can use.
export { vegaLiteToSvg, svgToPng, writeSvgAndPng, writeChart, type VegaLiteSpec } from './render.js';
export {
  tensorStats,
  activationStats,
  weightGradStats,
  distributions,
  plotDistributions,
  UpdateRatioTracker,
  plotUpdateRatios,
  saturationMask,
  plotSaturation,
  formatSigned,
  formatExp,
  formatTupleShape,
  type LabelledTensor,
  type TensorStats,
  type ActivationStats,
  type WeightGradStats,
  type DistributionSeries,
  type DistributionPlotOptions,
  type SaturationMask,
  type WrittenDiagnostic,
} from './diagnostics.js';
