"""SciPy/NumPy side of bench/peers: reads problems as JSON on stdin, times the same work in-process,
prints JSON on stdout. Imported only by bench/peers/run.ts (which skips with a message without numpy/scipy)."""
import json, sys, time
import numpy as np
from scipy.integrate import solve_ivp


def best_time(fn, rounds):
    """Best wall time and best CPU time of this process (all its threads: BLAS included) over the rounds."""
    fn()
    best = cpu = float('inf')
    out = None
    for _ in range(rounds):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    best_time.cpu = cpu
    return best, out


def diagonal_rhs(X, y):
    n = X.shape[0]
    def rhs(_t, th):
        u, v = th[0::2], th[1::2]
        g = X.T @ (X @ (u * v) - y) / n
        d = np.empty_like(th)
        d[0::2] = -g * v
        d[1::2] = -g * u
        return d
    return rhs


def linear_rhs(X, Y, c, d):
    n = X.shape[0]
    Sxx = X.T @ X / n
    Syx = Y.T @ X / n
    def rhs(_t, th):
        T = th.reshape(-1, c + d)
        A, W = T[:, :c], T[:, c:]
        G = (A.T @ W) @ Sxx - Syx          # ∇_M L for M = Σ a_i w_iᵀ (c × d), moment form
        out = np.empty_like(T)
        out[:, :c] = -(W @ G.T)
        out[:, c:] = -(A @ G)
        return out.ravel()
    return rhs


def diagonal_lossgrad(X, y):
    n = X.shape[0]
    def f(th):
        u, v = th[0::2], th[1::2]
        r = X @ (u * v) - y
        g = X.T @ r / n
        grad = np.empty_like(th)
        grad[0::2] = g * v
        grad[1::2] = g * u
        return 0.5 * (r @ r) / n, grad
    return f


def single_lossgrad(X, y):
    n = X.shape[0]
    def f(th):
        a, w = th[0], th[1:]
        r = a * (X @ w) - y
        g = X.T @ r / n
        grad = np.empty_like(th)
        grad[0] = w @ g
        grad[1:] = a * g
        return 0.5 * (r @ r) / n, grad
    return f


def linear_lossgrad(X, Y, c, d):
    n = X.shape[0]
    def f(th):
        T = th.reshape(-1, c + d)
        A, W = T[:, :c], T[:, c:]
        R = (X @ W.T) @ A - Y               # n × c residuals
        G = R.T @ X / n                      # c × d
        grad = np.empty_like(T)
        grad[:, :c] = W @ G.T
        grad[:, c:] = A @ G
        return 0.5 * np.sum(R * R) / n, grad.ravel()
    return f


def main():
    jobs = json.load(sys.stdin)
    results = []
    for job in jobs:
        X = np.array(job['X'], dtype=float).reshape(job['n'], -1)
        Y = np.array(job['Y'], dtype=float).reshape(job['n'], -1)
        th0 = np.array(job['theta0'], dtype=float)
        kind, model = job['kind'], job['model']
        rounds = job.get('rounds', 3)
        if kind == 'flow':
            rhs = diagonal_rhs(X, Y[:, 0]) if model == 'diagonal' else linear_rhs(X, Y, job['c'], job['d'])
            row = {}
            for method in job['methods']:
                def solve():
                    return solve_ivp(rhs, (0, job['tEnd']), th0, method=method, rtol=job['rtol'], atol=job['atol'], t_eval=[job['tEnd']])
                secs, sol = best_time(solve, rounds)
                row[method] = {'seconds': secs, 'cpu': best_time.cpu, 'nfev': int(sol.nfev), 'final': sol.y[:, -1].tolist(), 'ok': bool(sol.success)}
            results.append(row)
        elif kind == 'lossgrad':
            if model == 'diagonal':
                f = diagonal_lossgrad(X, Y[:, 0])
            elif model == 'single-neuron':
                f = single_lossgrad(X, Y[:, 0])
            else:
                f = linear_lossgrad(X, Y, job['c'], job['d'])
            reps = job['reps']
            def loop():
                for _ in range(reps):
                    f(th0)
            secs, _ = best_time(loop, rounds)
            loss, grad = f(th0)
            results.append({'seconds': secs / reps, 'cpu': best_time.cpu / reps, 'loss': float(loss), 'grad': grad.tolist()})
        elif kind == 'gd':
            f = diagonal_lossgrad(X, Y[:, 0])
            steps, lr = job['steps'], job['lr']
            def run():
                th = th0.copy()
                for _ in range(steps):
                    _, g = f(th)
                    th -= lr * g
                return th
            secs, th = best_time(run, rounds)
            results.append({'seconds': secs, 'cpu': best_time.cpu, 'stepsPerSecond': steps / secs, 'final': th.tolist()})
    json.dump(results, sys.stdout)


if __name__ == '__main__':
    main()
