/**
 * Gradient descent / heavy ball through TensorFlow.js. The state stays on the device; θ and the
 * loss are downloaded only at recorded steps, so a GPU engine is not stalled by a sync per step.
 * The update matches float64Backend: v ← m·v − η∇L, θ ← θ + v (m = 0: θ ← θ − η∇L).
 */
import type * as tfc from '@tensorflow/tfjs-core';
import { DivergenceError } from '../util/errors.ts';
import type { DescentBackend } from '../solvers/descent.ts';
import type { LoadedTfjs } from './tfjs.ts';
import { buildTfjsModel } from './tfjs-model.ts';

type Tensor = tfc.Tensor;

interface State {
  step: number;
  th: Tensor;
  v: Tensor;
}

export function tfjsDescentBackend(lib: LoadedTfjs, dtype: 'float32'): DescentBackend {
  const { tf } = lib;
  return {
    name: `tfjs-${lib.kind} (${dtype})`,
    run(p, { lr, steps, momentum, recordEvery }, theta0, record) {
      if (tf.getBackend() !== lib.backend) {
        // The engine was initialised when loaded, so the switch happens before setBackend's first await.
        tf.setBackend(lib.backend).catch(() => undefined);
        if (tf.getBackend() !== lib.backend) throw new Error(`tfjs backend: could not switch to '${lib.backend}' (active: '${tf.getBackend()}')`);
      }
      const { H, P } = p.layout;
      const { X, Y, n } = p.data;
      const model = buildTfjsModel(tf, p.derived, p.layout, X, Y, n);
      const divergence = (k: number, loss: number) => new DivergenceError(`descent diverged at step ${k} (loss = ${loss}, float32 on tfjs-${lib.kind}) at lr = ${lr}; give a smaller --lr`);
      try {
        // the outer tidy is a safety net: whatever the loop does not dispose goes when the run ends
        tf.tidy(() => {
          const lrT = tf.scalar(lr, dtype);
          const mT = tf.scalar(momentum, dtype);
          const advance = (s: State): { loss: Tensor; th: Tensor; v: Tensor } =>
            tf.tidy(() => {
              const { loss, grad } = model.lossAndGrad(s.th);
              if (momentum === 0) return { loss, th: tf.sub(s.th, tf.mul(lrT, grad)), v: s.v };
              const v = tf.sub(tf.mul(mT, s.v), tf.mul(lrT, grad));
              return { loss, th: tf.add(s.th, v), v };
            });

          const th0 = tf.tensor2d(Float32Array.from(theta0), [H, P], dtype);
          let cur: State = { step: 0, th: th0, v: tf.zerosLike(th0) };
          // the state at the last recorded step: divergence between records is located by replaying from it
          let saved: State = cur;
          const release = (...ts: Tensor[]) => {
            for (const t of new Set(ts)) if (t !== cur.th && t !== cur.v && t !== saved.th && t !== saved.v) t.dispose();
          };
          /** First non-finite loss in [from.step, upTo], one download per step (only after a blow-up). */
          const locate = (from: State, upTo: number, lossAtUpTo: number): DivergenceError => {
            let s = from;
            for (let k = from.step; k < upTo; k++) {
              const out = advance(s);
              const L = out.loss.dataSync()[0];
              if (!Number.isFinite(L)) return divergence(k, L);
              if (s !== from) s.th.dispose();
              s = { step: k + 1, th: out.th, v: out.v };
            }
            return divergence(upTo, lossAtUpTo);
          };

          for (let k = 0; k <= steps; k++) {
            const out = advance(cur);
            if (k % recordEvery === 0 || k === steps) {
              const loss = out.loss.dataSync()[0];
              if (!Number.isFinite(loss)) throw locate(saved, k, loss);
              record({ step: k, theta: Float64Array.from(cur.th.dataSync()), loss });
              const old = saved;
              saved = cur;
              release(old.th, old.v);
            }
            out.loss.dispose();
            if (k === steps) break;
            const prev = cur;
            cur = { step: k + 1, th: out.th, v: out.v };
            release(prev.th, prev.v);
          }
        });
      } finally {
        model.dispose();
      }
    },
  };
}
