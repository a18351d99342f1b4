"""The released M4 estimator of "Revisiting Neural Scaling Laws in Language and Vision".

Alabdulmohsin, Neyshabur & Zhai 2022 (arXiv:2209.06640). A faithful re-implementation (numpy and
scipy only) of ``revisiting_neural_scaling_laws/methods/m4.py`` and ``methods/base.py`` of
google-research/google-research (commits 1d4d2f1a and 83282e4e, identical but for the copyright
year), with the per-domain arguments of the authors' notebook (commit 9853680c). Written for this
project as the benchmark's peer: it reproduces the released estimator's per-curve RMSLE on the
official split (mean 0.0350 / median 0.0233 over the 92 curves).

Quirks of the released code kept on purpose: the design column ``log(err_0 - y)`` uses the
*initial* ``err_0`` and is never refreshed; the non-negative least squares (sklearn's
``positive=True``, i.e. ``scipy.optimize.nnls``) constrains ``beta >= 1``, ``c <= 0``,
``alpha >= 0``; predictions solve ``w = f (b - w)^alpha`` on a 10,000-point grid.
"""

# ruff: noqa
import numpy as np
import scipy.optimize

M4_ARGS = {
    "IC": dict(err_inf=None, err_0=1.0, update_err_0=True, up_bound=1.0),
    "NMT": dict(err_0=1.0, update_err_0=True, up_bound=None),
    "LM": dict(err_0=1.0, update_err_0=True, up_bound=None),
    "BB": dict(err_0=1.001, update_err_0=True, up_bound=1.0),
}


# ---------------------------------------------------------------------------
# M4 -- faithful port of google-research revisiting_neural_scaling_laws
#       methods/base.py (class M) + methods/m4.py (class Estimator)
# ---------------------------------------------------------------------------

ERR_MARGIN = 1e-3   # base.py
EPS = 1e-5          # m4.py


class M4Estimator:
    """(L - err_inf) / (err_0 - L)^alpha = beta * x^c   (c <= 0, alpha >= 0)."""

    def __init__(self, loss_values, c=-0.5, err_inf=None, err_0=1.0,
                 update_c=True, update_err_inf=True, update_err_0=True,
                 update_alpha=True, lo_bound=0., up_bound=None):
        # ---- base.M.__init__ ----
        if lo_bound is None or lo_bound < 0:
            raise ValueError("lo_bound must be a non-negative real number.")
        if up_bound is not None and up_bound <= lo_bound:
            raise ValueError("up_bound must be larger than lo_bound.")
        self.loss_values = loss_values
        self.x = np.array(sorted(list(loss_values.keys())))
        self.y = np.array([loss_values[x] for x in self.x])
        self.min_err = min(loss_values.values()) - ERR_MARGIN
        self.max_err = max(loss_values.values()) + ERR_MARGIN
        self.c = c
        self.beta = 1.0
        self.alpha = 0.
        if err_inf is None and update_err_inf:
            err_inf = self.min_err
        elif err_inf is None:
            err_inf = 0
        self.err_inf = err_inf
        self.update_c = update_c
        self.update_err_inf = update_err_inf
        self.lo_bound = max(0., lo_bound - ERR_MARGIN)
        if up_bound is not None:
            up_bound = up_bound + ERR_MARGIN
        self.up_bound = up_bound
        # ---- m4.Estimator.__init__ ----
        self.err_0 = err_0 if err_0 is not None else self.max_err
        self.update_alpha = update_alpha
        self.update_err_0 = update_err_0
        n = len(self.x)
        if update_alpha:
            A = np.zeros((n, 3))
            for i in range(n):
                xi = self.x[i]
                A[i, 0] = 1.0
                A[i, 1] = -np.log(xi)
                # NB: uses the *initial* err_0; never recomputed later.
                A[i, 2] = np.log(self.err_0 - loss_values[xi])
        else:
            A = np.zeros((n, 2))
            for i in range(n):
                A[i, 0] = 1.0
                A[i, 1] = -np.log(self.x[i])
        self.A = A
        self.n_outer = 0

    # -- model pieces --
    def _f(self, data_size):
        return self.beta * (data_size ** self.c)

    def _fv(self):
        return self.beta * (self.x ** self.c)

    def _gv(self):
        return (self.y - self.err_inf) / ((self.err_0 - self.y) ** self.alpha)

    def _get_objt(self):
        return 0.5 * np.linalg.norm(np.log(self._gv()) - np.log(self._fv()))

    def _project(self):
        self.err_inf = max(self.err_inf, self.lo_bound)
        self.err_inf = min(self.err_inf, self.min_err)
        self.err_0 = max(self.err_0, self.max_err)
        if self.up_bound is not None:
            self.err_0 = min(self.err_0, self.up_bound)

    def predict_loss(self, data_size, prec=10_000):
        if abs(self.alpha) < EPS:
            return self.err_inf + self._f(data_size)
        f = self._f(data_size)
        b = self.err_0 - self.err_inf
        w = np.linspace(0, b, prec)
        loss = np.abs(w - f * (b - w) ** self.alpha)
        return w[np.argmin(loss)] + self.err_inf

    # -- optimisation (inner loops written with scalar state for speed;
    #    arithmetic is the same as m4.py _grad/_hessian/_update_errs*) --
    def _update_errs(self, lr=1e-8, epochs=1000):
        """Projected gradient descent on (err_inf, err_0)."""
        y = self.y
        log_f = np.log(self._fv())            # beta, c fixed inside this loop
        alpha = self.alpha
        ei, e0 = self.err_inf, self.err_0
        lo, mn, mx, up = self.lo_bound, self.min_err, self.max_err, self.up_bound
        uinf, u0 = self.update_err_inf, self.update_err_0
        for _ in range(epochs):
            d_inf = y - ei
            d_0 = e0 - y
            log_g = np.log(d_inf / d_0 ** alpha)
            residual = log_g - log_f
            grad_inf = -np.mean(residual / d_inf)
            grad_0 = -alpha * np.mean(residual / d_0)
            if uinf:
                ei -= lr * grad_inf
            if u0:
                e0 -= lr * grad_0
            # _project()
            ei = min(max(ei, lo), mn)
            e0 = max(e0, mx)
            if up is not None:
                e0 = min(e0, up)
        self.err_inf, self.err_0 = ei, e0

    def _update_errs_hessian(self, lr=0.1, epochs=100):
        """Projected (diagonal) Newton steps on (err_inf, err_0)."""
        y = self.y
        log_f = np.log(self._fv())
        alpha = self.alpha
        ei, e0 = self.err_inf, self.err_0
        lo, mn, mx, up = self.lo_bound, self.min_err, self.max_err, self.up_bound
        uinf, u0 = self.update_err_inf, self.update_err_0
        for _ in range(epochs):
            d_inf = y - ei
            d_0 = e0 - y
            log_g = np.log(d_inf / d_0 ** alpha)
            residual = log_g - log_f
            grad_inf = -np.mean(residual / d_inf)
            grad_0 = -alpha * np.mean(residual / d_0)
            h_inf = np.mean((1 - residual) / d_inf ** 2)
            h_0 = alpha * np.mean((alpha + residual) / d_0 ** 2)
            if uinf and abs(h_inf) > EPS:
                ei -= lr * grad_inf / h_inf
            if u0 and abs(h_0) > EPS:
                e0 -= lr * grad_0 / h_0
            ei = min(max(ei, lo), mn)
            e0 = max(e0, mx)
            if up is not None:
                e0 = min(e0, up)
        self.err_inf, self.err_0 = ei, e0

    def _update_c_beta_alpha(self):
        # sklearn LinearRegression(fit_intercept=False, positive=True).fit(A, t)
        # == scipy.optimize.nnls(A, t) for a 1-d target t.
        if self.update_alpha:
            labels = np.log(self.y - self.err_inf)
            coef = scipy.optimize.nnls(self.A, labels)[0]
            log_beta, self.c, self.alpha = coef[0], -coef[1], coef[2]
        else:
            labels = np.log(self.y - self.err_inf) - np.log(self.err_0 - self.y)
            coef = scipy.optimize.nnls(self.A, labels)[0]
            log_beta, self.c = coef[0], -coef[1]
        self.beta = np.exp(log_beta)

    def estimate_scaling_params(self, max_iterations=10_000, lr=1e-8,
                                epochs=1000, grad_iters=100, stop=1e-10):
        if not self.update_err_inf and not self.update_err_0:
            max_iterations = 1
        old_beta = self.beta
        for k in range(max_iterations):
            self._update_c_beta_alpha()
            if k < grad_iters:
                self._update_errs(lr=lr, epochs=epochs)
            else:
                self._update_errs_hessian()
            gap_beta = self.beta - old_beta
            old_beta = self.beta
            self.n_outer = k + 1
            if abs(gap_beta) < stop and k > grad_iters + 1:
                break


# constructor arguments used for M4 in the authors' notebook
# (revisiting_neural_scaling_laws.ipynb, commit 9853680c...):
#   IC : M4(fit_values, err_inf=None, err_0=1.0, update_err_0=True, up_bound=1.0)
#   NMT: M4(fit_values, err_0=1.0, update_err_0=True, up_bound=None)
#   LM : M4(fit_values, err_0=1.0, update_err_0=True, up_bound=None)
#   BB : M4(fit_values, err_0=1.001, update_err_0=True, up_bound=1.0)
# all followed by estimate_scaling_params(verbose=0[, max_iterations=10_000]).
M4_ARGS = {
    "IC": dict(err_inf=None, err_0=1.0, update_err_0=True, up_bound=1.0),
    "NMT": dict(err_0=1.0, update_err_0=True, up_bound=None),
    "LM": dict(err_0=1.0, update_err_0=True, up_bound=None),
    "BB": dict(err_0=1.001, update_err_0=True, up_bound=1.0),
}


def fit_predict_m4(curve):
    # notebook: fit_values = {x: y for x, y in zip(x_vals, y_vals)} (file order;
    # a repeated x would keep its last y -- none occur after de-duplication)
    fit_values = {x: y for x, y in zip(curve["x_fit"], curve["y_fit"])}
    est = M4Estimator(fit_values, **M4_ARGS[curve["domain"]])
    with np.errstate(all="ignore"):
        est.estimate_scaling_params(max_iterations=10_000)
        pred = np.array([est.predict_loss(xi) for xi in curve["x_test"]])
    params = dict(beta=est.beta, c=est.c, alpha=est.alpha,
                  err_inf=est.err_inf, err_0=est.err_0, n_outer=est.n_outer)
    return pred, params


def fit_m4_batched(curves, max_iterations=10_000, lr=1e-8, epochs=1000,
                   grad_iters=100, stop=1e-10, nr_lr=0.1, nr_epochs=100):
    """Runs M4Estimator.estimate_scaling_params for many curves in lock-step.

    Same arithmetic as the per-curve class (hence as m4.py), vectorised over
    curves: curves are padded to a common length with a 0/1 weight mask, means
    are sum(w * v) / n, and a curve leaves the batch when its own stopping rule
    fires (|beta_k - beta_{k-1}| < stop and k > grad_iters + 1), exactly as in
    the per-curve loop.  Only the order of floating-point summation differs
    (np.mean vs masked sum), so results agree with the per-curve reference to
    round-off-driven differences (checked on the 20 language curves, see notes).
    Returns a list of fitted M4Estimator objects (state copied back)."""
    ests = []
    for cv in curves:
        fit_values = {x: y for x, y in zip(cv["x_fit"], cv["y_fit"])}
        ests.append(M4Estimator(fit_values, **M4_ARGS[cv["domain"]]))
    for e in ests:   # the notebook's settings: everything learnable
        assert e.update_err_inf and e.update_err_0 and e.update_alpha and e.update_c
    B = len(ests)
    N = max(len(e.x) for e in ests)
    X = np.empty((B, N)); Y = np.empty((B, N)); W = np.zeros((B, N))
    for b, e in enumerate(ests):
        n = len(e.x)
        X[b, :] = e.x[0]; Y[b, :] = e.y[0]          # harmless padding values
        X[b, :n] = e.x; Y[b, :n] = e.y; W[b, :n] = 1.0
    nvalid = W.sum(1)
    lo = np.array([e.lo_bound for e in ests]); mn = np.array([e.min_err for e in ests])
    mx = np.array([e.max_err for e in ests])
    has_up = np.array([e.up_bound is not None for e in ests])
    up = np.array([e.up_bound if e.up_bound is not None else np.inf for e in ests])
    ei = np.array([float(e.err_inf) for e in ests]); e0 = np.array([float(e.err_0) for e in ests])
    beta = np.array([e.beta for e in ests]); c = np.array([float(e.c) for e in ests])
    alpha = np.zeros(B); old_beta = beta.copy()
    n_outer = np.zeros(B, dtype=int)
    active = np.arange(B)

    def inner(idx, newton):
        Yi, Wi, ni = Y[idx], W[idx], nvalid[idx]
        al = alpha[idx]; alc = al[:, None]
        # log f = log(beta * x^c), fixed during the inner loop (as in m4.py)
        log_f = np.log(beta[idx, None] * (X[idx] ** c[idx, None]))
        a_ei, a_e0 = ei[idx].copy(), e0[idx].copy()
        a_lo, a_mn, a_mx, a_up, a_hu = lo[idx], mn[idx], mx[idx], up[idx], has_up[idx]
        n_ep = nr_epochs if newton else epochs
        for _ in range(n_ep):
            d_inf = Yi - a_ei[:, None]
            d_0 = a_e0[:, None] - Yi
            res = np.log(d_inf / d_0 ** alc) - log_f
            r_inf = res / d_inf
            r_0 = res / d_0
            grad_inf = -(r_inf * Wi).sum(1) / ni
            grad_0 = -al * ((r_0 * Wi).sum(1) / ni)
            if newton:
                h_inf = (((1 - res) / d_inf ** 2) * Wi).sum(1) / ni
                h_0 = al * ((((alc + res) / d_0 ** 2) * Wi).sum(1) / ni)
                ok_i = np.abs(h_inf) > EPS
                ok_0 = np.abs(h_0) > EPS
                a_ei = np.where(ok_i, a_ei - nr_lr * grad_inf / np.where(ok_i, h_inf, 1.), a_ei)
                a_e0 = np.where(ok_0, a_e0 - nr_lr * grad_0 / np.where(ok_0, h_0, 1.), a_e0)
            else:
                a_ei = a_ei - lr * grad_inf
                a_e0 = a_e0 - lr * grad_0
            a_ei = np.minimum(np.maximum(a_ei, a_lo), a_mn)
            a_e0 = np.maximum(a_e0, a_mx)
            a_e0 = np.where(a_hu, np.minimum(a_e0, a_up), a_e0)
        ei[idx] = a_ei; e0[idx] = a_e0

    with np.errstate(all="ignore"):
        for k in range(max_iterations):
            if active.size == 0:
                break
            # _update_c_beta_alpha (NNLS on the fixed design matrix A)
            for b in active:
                e = ests[b]
                labels = np.log(e.y - ei[b])
                coef = scipy.optimize.nnls(e.A, labels)[0]
                c[b], alpha[b] = -coef[1], coef[2]
                beta[b] = np.exp(coef[0])
            inner(active, newton=(k >= grad_iters))
            gap = beta[active] - old_beta[active]
            old_beta[active] = beta[active]
            n_outer[active] = k + 1
            if k > grad_iters + 1:
                active = active[~(np.abs(gap) < stop)]
    for b, e in enumerate(ests):
        e.err_inf, e.err_0, e.beta, e.c, e.alpha = ei[b], e0[b], beta[b], c[b], alpha[b]
        e.n_outer = int(n_outer[b])
    return ests


