/**
 * Optional TensorFlow.js packages that cannot be installed on every machine (tfjs-node and
 * tfjs-node-gpu download libtensorflow at install time), so tsc must not need them. Both are
 * CommonJS modules whose exports are the whole tfjs API (they re-export @tensorflow/tfjs,
 * which re-exports tfjs-core); we use only that core API, typed from tfjs-core.
 */
declare module '@tensorflow/tfjs-node' {
  export * from '@tensorflow/tfjs-core';
}

declare module '@tensorflow/tfjs-node-gpu' {
  export * from '@tensorflow/tfjs-core';
}
