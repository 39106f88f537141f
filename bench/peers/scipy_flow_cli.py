"""The whole-process peer of `gradflow flow diagonal --data FILE`: the same flow with SciPy's DOP853,
printed at 11 checkpoints (t, loss). Usage: python3 scipy_flow_cli.py data.json alpha t_end rtol"""
import json, sys
import numpy as np
from scipy.integrate import solve_ivp

data = json.load(open(sys.argv[1]))
alpha, t_end, rtol = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
X, y = np.array(data['X'], dtype=float), np.array(data['y'], dtype=float)
n, d = X.shape
th0 = np.zeros(2 * d)
th0[0::2] = np.sqrt(2) * alpha          # u = sqrt(2)·alpha, v = 0 (gradflow's diagonal convention)


def rhs(_t, th):
    u, v = th[0::2], th[1::2]
    g = X.T @ (X @ (u * v) - y) / n
    out = np.empty_like(th)
    out[0::2] = -g * v
    out[1::2] = -g * u
    return out


ts = np.linspace(0, t_end, 11)
sol = solve_ivp(rhs, (0, t_end), th0, method='DOP853', rtol=rtol, atol=rtol * 1e-3 * np.sqrt(2) * alpha, t_eval=ts)
for t, th in zip(sol.t, sol.y.T):
    r = X @ (th[0::2] * th[1::2]) - y
    print(f'{t:.6g}  {0.5 * r @ r / n:.6g}')
