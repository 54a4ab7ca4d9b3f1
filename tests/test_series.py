"""Joint campaign fits: Schur-complement solver, shared parameters, evidence, smoothing."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import least_squares

import eisfit
from eisfit import Spectrum
from eisfit.errors import FitError
from eisfit.model import Circuit
from eisfit.series import joint_fit
from eisfit.series import blocktri, smoothing
from eisfit.series.solver import BlockProblem, DifferencePenalty, block_covariance, block_lm

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
SHARED = ["R1", "CPE1_0", "CPE1_1"]
AREA = 0.785
F = np.logspace(7, -1, 51)
_C = Circuit(CIRCUIT)


def _spectrum(p: dict, rng, noise: float, label: str) -> Spectrum:
    z = _C.impedance(np.array([p[n] for n in _C.param_names]), F)
    z = z * (1 + noise * (rng.normal(size=F.size) + 1j * rng.normal(size=F.size)) / np.sqrt(2))
    return Spectrum(F, z, {"label": label})


def constant_bulk_campaign(k=12, r1_drift=1.0, noise=0.01, seed=0, r2_asr=None):
    """Interface ASR 117 -> 35 ohm*cm2 (A = 0.785 cm2; geometric, or ``r2_asr`` per checkpoint),
    electrolyte arc constant (or R1 drifting)."""
    rng = np.random.default_rng(seed)
    r2 = (np.geomspace(117.0, 35.0, k) if r2_asr is None else np.asarray(r2_asr, float)) / AREA
    r1 = 40.0 * np.geomspace(1.0, r1_drift, k)
    truth = [dict(R0=30.0, R1=r1[i], CPE1_0=2e-8, CPE1_1=0.9, R2=r2[i], CPE2_0=2e-6, CPE2_1=0.85)
             for i in range(k)]
    return [_spectrum(p, rng, noise, f"cp{i}") for i, p in enumerate(truth)], truth


def smooth_series(k=30, noise=0.05, seed=1, jump_at=None):
    """R2 decaying smoothly (and halved at ``jump_at``), CPE2_0 drifting, the rest constant."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, k)
    r2 = 149.0 * np.exp(-1.2 * x)
    if jump_at is not None:
        r2 = np.where(np.arange(k) >= jump_at, r2 / 2.0, r2)
    truth = [dict(R0=30.0, R1=40.0, CPE1_0=2e-8, CPE1_1=0.9, R2=r2[i], CPE2_0=2e-6 * (1 + 0.3 * x[i]),
                  CPE2_1=0.85) for i in range(k)]
    return [_spectrum(p, rng, noise, f"cp{i}") for i, p in enumerate(truth)], truth, r2


# ---------------------------------------------------------------- generic solver
def _toy(k=40, seed=0):
    """y_k(t) = A_k exp(-t/tau) + c_k: local (ln A_k, c_k), shared ln tau."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 5, 20)
    amp = np.exp(rng.normal(0, 0.5, k))
    off = rng.normal(0, 0.1, k)
    y = amp[:, None] * np.exp(-t / 1.3) + off[:, None] + rng.normal(0, 0.02, (k, t.size))

    def evaluate(a, b):
        e = np.exp(-t / np.exp(b[0]))
        m = np.exp(a[:, 0])[:, None] * e + a[:, 1][:, None]
        ja = np.stack([-np.exp(a[:, 0])[:, None] * e, -np.ones_like(m)], axis=2)
        jb = (-np.exp(a[:, 0])[:, None] * e * t / np.exp(b[0]))[:, :, None]
        return y - m, ja, jb

    inf = np.inf
    prob = BlockProblem(evaluate, np.array([-inf, -inf]), np.array([inf, inf]), np.array([-inf]), np.array([inf]))
    return prob, evaluate, k, t.size


@pytest.mark.parametrize("order", [None, 1, 2])
def test_schur_lm_matches_dense_least_squares_and_covariance(order):
    prob, evaluate, k, n = _toy()
    pen = None
    if order is not None:  # first differences, or second divided differences on uneven positions
        stencil = (np.tile([-1.0, 1.0], (k - 1, 1)) if order == 1
                   else smoothing.difference_stencil(k, np.cumsum(np.random.default_rng(1).uniform(0.5, 2, k))))
        pen = DifferencePenalty(stencil, np.full((k - order, 2), 0.5))
    out = block_lm(prob, np.zeros((k, 2)), np.zeros(1), penalty=pen, ftol=1e-14, xtol=1e-14)
    assert out.converged

    def dense(x):
        a = x[:-1].reshape(k, 2)
        r = evaluate(a, x[-1:])[0].ravel()
        return r if pen is None else np.r_[r, (np.sqrt(pen.weights) * pen.differences(a)).ravel()]

    ref = least_squares(dense, np.zeros(2 * k + 1), method="lm", xtol=1e-15, ftol=1e-15)
    assert out.chisq + out.penalty == pytest.approx(2 * ref.cost, rel=1e-9)
    np.testing.assert_allclose(out.b, ref.x[-1:], atol=1e-6)
    np.testing.assert_allclose(out.a.ravel(), ref.x[:-1], atol=1e-5)
    cov_dense = np.linalg.inv(ref.jac.T @ ref.jac)
    loc, sh, cross = block_covariance(out.normal, pen, 1.0)
    np.testing.assert_allclose(sh, cov_dense[-1:, -1:], rtol=1e-5)
    np.testing.assert_allclose(loc[7], cov_dense[14:16, 14:16], rtol=1e-5)
    np.testing.assert_allclose(cross[7], cov_dense[14:16, -1:], rtol=1e-5)


@pytest.mark.parametrize("k, distances", [(6, 1), (7, 2), (8, 2), (3, 2), (9, 3)])
def test_block_banded_solve_and_inverse_blocks_match_dense(k, distances):
    rng = np.random.default_rng(3)
    p = 3
    m = rng.normal(size=(k, p, p))
    diag = np.einsum("kij,klj->kil", m, m) + 6 * np.eye(p)
    off = tuple(-rng.uniform(0.1, 1.0, (k - s, p)) for s in range(1, distances + 1))
    dense = np.zeros((k * p, k * p))
    for i in range(k):
        dense[i * p:(i + 1) * p, i * p:(i + 1) * p] = diag[i]
    for s, e in enumerate(off, start=1):
        for i in range(k - s):
            dense[i * p + np.arange(p), (i + s) * p + np.arange(p)] = e[i]
            dense[(i + s) * p + np.arange(p), i * p + np.arange(p)] = e[i]
    rhs = rng.normal(size=(k, p, 2))
    x = blocktri.solve(diag, off, rhs)
    np.testing.assert_allclose(x.reshape(-1, 2), np.linalg.solve(dense, rhs.reshape(-1, 2)), rtol=1e-10)
    inv = np.linalg.inv(dense)
    g = blocktri.inverse_diagonal_blocks(diag, off)
    for i in range(k):
        np.testing.assert_allclose(g[i], inv[i * p:(i + 1) * p, i * p:(i + 1) * p], rtol=1e-9, atol=1e-12)


def _badly_scaled_smoothing_matrix(seed, k=11, p=8):
    """A data Hessian per checkpoint with parameter scales over 12 decades (one parameter
    barely determined) plus a second-difference penalty of weights up to 1e7 x scale^2: the
    structure and conditioning (condition numbers 1e21-1e24, 4e5-3e11 once the diagonal is
    scaled to 1) of the smoothed garnet sample campaign's normal matrix."""
    rng = np.random.default_rng(seed)
    scale = 10 ** rng.uniform(-6, 6, p)
    a = rng.normal(size=(k, 20, p)) * scale
    a[:, :, -1] *= 1e-3
    diag = np.einsum("kri,krj->kij", a, a)
    lam = 10 ** rng.uniform(-1, 7, p) * scale**2
    on_diag, e1, e2 = np.zeros((k, p)), np.zeros((k - 1, p)), np.zeros((k - 2, p))
    for t in range(k - 2):  # lam (x_t - 2 x_t+1 + x_t+2)^2
        on_diag[t] += lam
        on_diag[t + 1] += 4 * lam
        on_diag[t + 2] += lam
        e1[t] += -2 * lam
        e1[t + 1] += -2 * lam
        e2[t] += lam
    return diag + np.einsum("ki,ij->kij", on_diag, np.eye(p)), (e1, e2)


@pytest.mark.parametrize("seed", [1, 3, 4, 5])
def test_inverse_blocks_of_a_badly_scaled_smoothing_matrix(seed):
    """The covariance blocks of a smoothed joint fit: the two-sweep recursion on explicit
    inverses of Schur complements returned blocks wrong by 24-120 % and negative variances on
    such matrices (the smoothed sample campaign printed R2 'undetermined' from its sixth
    checkpoint on); the block Cholesky factorisation with triangular solves stays within its
    conditioning of a dense Cholesky inverse of the diagonally scaled matrix."""
    import scipy.linalg

    diag, offs = _badly_scaled_smoothing_matrix(seed)
    k, p, _ = diag.shape
    h = blocktri.dense(diag, offs)
    s = 1 / np.sqrt(np.diag(h))
    ref = scipy.linalg.cho_solve(scipy.linalg.cho_factor(h * np.outer(s, s)), np.eye(k * p)) * np.outer(s, s)
    g = blocktri.inverse_diagonal_blocks(diag, offs)
    for i in range(k):
        block = ref[i * p:(i + 1) * p, i * p:(i + 1) * p]
        assert np.all(np.diag(g[i]) > 0)
        np.testing.assert_allclose(np.diag(g[i]), np.diag(block), rtol=1e-4)
        np.testing.assert_allclose(g[i], g[i].T)


def test_effective_dof_of_a_parameter_neither_data_nor_penalty_hold():
    """A parameter without effect on any checkpoint's data and left unpenalised (the GCV's
    coordinate sweep tries lambda = 0 for each parameter in turn): the penalised normal
    matrix is singular (its Cholesky factorisation fails), and the parameter adds nothing to
    tr((U + P)^-1 U); the edf is that of the problem without it."""
    rng = np.random.default_rng(2)
    k, p = 9, 3
    m = rng.normal(size=(k, 4, p))
    u = np.einsum("kri,krj->kij", m, m)
    u[:, -1, :] = 0.0
    u[:, :, -1] = 0.0
    weights = np.full((k - 2, p), 0.7)
    weights[:, -1] = 0.0
    penalty = DifferencePenalty(smoothing.difference_stencil(k), weights)
    without = DifferencePenalty(smoothing.difference_stencil(k), weights[:, :-1])
    assert smoothing.effective_dof(u, penalty) == pytest.approx(smoothing.effective_dof(u[:, :-1, :-1], without),
                                                                rel=1e-8)


def test_bounds_are_respected_by_projection():
    prob, _, k, _ = _toy()
    capped = BlockProblem(prob.evaluate, prob.lower_local, prob.upper_local, prob.lower_shared, np.array([0.0]))
    out = block_lm(capped, np.zeros((k, 2)), np.array([-1.0]))
    assert out.b[0] == pytest.approx(0.0)  # tau = 1 s, the bound (truth 1.3 s is outside)
    assert out.converged


# ---------------------------------------------------------------- shared parameters
@pytest.fixture(scope="module")
def constant_bulk():
    spectra, truth = constant_bulk_campaign()
    res = joint_fit(spectra, CIRCUIT, shared=SHARED, start_values=truth, area_cm2=AREA, thickness_cm=0.03)
    return spectra, truth, res


def test_constant_bulk_prefers_sharing_and_shrinks_r2_stderr(constant_bulk):
    _, _, res = constant_bulk
    s = res.sharing
    assert s["preferred"] == "shared" and s["delta_aic"] > 0
    for key in ("chisq_shared", "chisq_independent", "aic_shared", "aic_independent",
                "bic_shared", "bic_independent", "delta_aic"):
        assert np.isfinite(s[key])
    assert s["aic_independent"] - s["aic_shared"] == pytest.approx(s["delta_aic"])
    assert res.statement.startswith("Sharing R1, CPE1_0, CPE1_1 across 12 checkpoints is supported (dAIC = ")
    med_joint = np.median([e["R2"] for e in res.stderr])
    med_indep = np.median([e["R2"] for e in res.independent_stderr])
    assert med_joint < 0.8 * med_indep
    # shared parameters: one value and one stderr, repeated on every checkpoint
    for name in SHARED:
        assert len({v[name] for v in res.values}) == 1
        assert len({e[name] for e in res.stderr}) == 1
        assert np.isfinite(res.stderr[0][name])
    assert res.values[0]["R1"] == pytest.approx(40.0, rel=0.01)


def test_table_repeats_shared_values_and_names_them(constant_bulk):
    _, _, res = constant_bulk
    table = res.table()
    assert len(table) == 12
    assert set(table["shared"]) == {"R1,CPE1_0,CPE1_1"}
    assert table["R1"].nunique() == 1 and table["R1_stderr"].nunique() == 1
    assert table["R2"].nunique() == 12
    # conductivity of every electrolyte resistance with propagated stderr (sigma = L/(R*A));
    # none for the interface arc R2, where L/(R*A) is no conductivity
    for r in ("R0", "R1"):
        assert f"{r}_sigma_S_per_cm" in table and f"{r}_sigma_S_per_cm_stderr" in table
    assert "R2_sigma_S_per_cm" not in table
    row = table.iloc[3]
    assert row["R1_sigma_S_per_cm"] == pytest.approx(0.03 / (row["R1"] * AREA), rel=1e-9)
    assert row["R1_sigma_S_per_cm_stderr"] == pytest.approx(
        row["R1_sigma_S_per_cm"] * row["R1_stderr"] / row["R1"], rel=1e-3)


def test_chisq_never_exceeds_independent_beyond_removed_freedom(constant_bulk):
    _, _, res = constant_bulk
    s = res.sharing
    removed = s["n_free_independent"] - s["n_free_shared"]
    assert removed == 11 * 3
    s2 = s["chisq_independent"] / (s["n_residuals"] - s["n_free_independent"])
    excess = (s["chisq_shared"] - s["chisq_independent"]) / s2
    assert excess >= -1e-6 * s["chisq_independent"] / s2  # sharing never fits better
    assert excess <= removed + 5 * np.sqrt(2 * removed)  # chi2(removed) within 5 sigma


def test_drifting_bulk_is_not_shared_and_says_so():
    spectra, truth = constant_bulk_campaign(r1_drift=3.0)
    with pytest.warns(RuntimeWarning, match="NOT supported"):
        res = joint_fit(spectra, CIRCUIT, shared=SHARED, start_values=truth)
    assert res.sharing["preferred"] == "independent"
    assert res.sharing["delta_aic"] < 0
    assert "NOT supported by the data" in res.statement and "independent fits preferred" in res.statement


def test_no_sharing_reproduces_the_single_fits():
    spectra, _ = constant_bulk_campaign(k=4)
    singles = [eisfit.fit(s, CIRCUIT, kk=False, drop_inductive=False) for s in spectra]
    res = joint_fit(spectra, CIRCUIT, shared=[], start_values=[r.values for r in singles])
    assert res.sharing is None
    for k, single in enumerate(singles):
        assert res.chisq_checkpoints[k] == pytest.approx(single.chisq, rel=1e-6)
        for name in single.param_names:
            assert res.values[k][name] == pytest.approx(single.values[name], rel=1e-4)
            assert res.stderr[k][name] == pytest.approx(single.stderr[name], rel=1e-3)


def test_list_of_spectra_without_start_values_uses_single_fits():
    spectra, _ = constant_bulk_campaign(k=3)
    res = joint_fit(spectra, CIRCUIT, shared=["CPE1_1"])
    assert res.converged and res.n_checkpoints == 3
    assert res.values[0]["CPE1_1"] == pytest.approx(0.9, abs=0.01)


def test_invalid_settings_raise_fit_errors():
    spectra, truth = constant_bulk_campaign(k=3)
    with pytest.raises(FitError, match="unknown parameter"):
        joint_fit(spectra, CIRCUIT, shared=["R9"], start_values=truth)
    with pytest.raises(FitError, match="both shared and fixed"):
        joint_fit(spectra, CIRCUIT, shared=["R1"], fixed={"R1": 40.0}, start_values=truth)
    with pytest.raises(FitError, match="smooth"):
        joint_fit(spectra, CIRCUIT, smooth="strong", start_values=truth)


def test_fixed_parameters_stay_fixed_with_nan_stderr():
    spectra, truth = constant_bulk_campaign(k=4)
    res = joint_fit(spectra, CIRCUIT, shared=["R1"], fixed={"CPE1_1": 0.9}, start_values=truth)
    assert all(v["CPE1_1"] == 0.9 for v in res.values)
    assert all(np.isnan(e["CPE1_1"]) for e in res.stderr)
    assert res.sharing["n_free_shared"] == 4 * 5 + 1


# ---------------------------------------------------------------- smoothing
def _log_rms(values, r2, sl=slice(None)):
    err = np.log([v["R2"] for v in values]) - np.log(r2)
    return float(np.sqrt(np.mean(err[sl] ** 2)))


@pytest.mark.parametrize("seed", [1, 2])
def test_auto_smoothing_recovers_smooth_r2_better(seed):
    spectra, truth, r2 = smooth_series(seed=seed)
    res = joint_fit(spectra, CIRCUIT, smooth="auto", start_values=truth)
    assert res.smoothing["rule"] == "gcv"
    assert set(res.smoothing["lambda"]) == set(CIRCUIT_PARAMS)
    assert res.smoothing["lambda"]["R2"] > 0
    rms_smooth = _log_rms(res.values, r2)
    rms_indep = _log_rms(res.independent_values, r2)
    assert rms_smooth < 0.6 * rms_indep
    assert res.smoothing["jumps"] == []  # nothing detected on a smooth series


CIRCUIT_PARAMS = _C.param_names


def test_auto_smoothing_keeps_a_real_jump():
    jump = 15
    spectra, truth, r2 = smooth_series(seed=1, jump_at=jump)
    res = joint_fit(spectra, CIRCUIT, smooth="auto", start_values=truth)
    assert {"after_checkpoint": jump - 1, "parameter": "R2"} in [
        {k: j[k] for k in ("after_checkpoint", "parameter")} for j in res.smoothing["jumps"]]
    around = slice(jump - 1, jump + 1)
    assert _log_rms(res.values, r2, around) < 1.5 * _log_rms(res.independent_values, r2, around) + 0.01
    assert _log_rms(res.values, r2) < _log_rms(res.independent_values, r2)
    # the fitted drop across the jump is the true factor 2 (within 10 %)
    drop = res.values[jump - 1]["R2"] / res.values[jump]["R2"]
    true_drop = r2[jump - 1] / r2[jump]
    assert drop == pytest.approx(true_drop, rel=0.1)


def test_quadratic_penalty_would_blur_the_jump():
    """Why the penalty is robust: the same lambda without edge weights smears the step."""
    jump = 15
    spectra, truth, r2 = smooth_series(seed=1, jump_at=jump)
    robust = joint_fit(spectra, CIRCUIT, smooth=30.0, start_values=truth)
    plain = joint_fit(spectra, CIRCUIT, smooth=30.0, robust=False, start_values=truth)
    around = slice(jump - 1, jump + 1)
    assert _log_rms(robust.values, r2, around) < 0.5 * _log_rms(plain.values, r2, around)
    assert robust.smoothing["robust"] and not plain.smoothing["robust"]
    # the smeared step costs far more chi-square than the parameters it removes: rejected
    assert not plain.smoothing["supported"] and plain.smoothing["delta_chisq_s2"] > 3 * robust.smoothing[
        "delta_chisq_s2"]


def test_smoothing_combines_with_sharing():
    spectra, truth, r2 = smooth_series(k=12, seed=4)
    res = joint_fit(spectra, CIRCUIT, shared=SHARED, smooth=5.0, start_values=truth)
    assert res.sharing["preferred"] == "shared"
    assert res.smoothing["lambda"]["R2"] == 5.0 and "R1" not in res.smoothing["lambda"]
    assert len({v["R1"] for v in res.values}) == 1
    assert all(np.isfinite(e["R2"]) for e in res.stderr)


def decay_campaign(k, seed, r2_of_t, noise=0.005, t_end=1500.0, times=None):
    """R0-p(R1,CPE1)-p(R2,CPE2) at 0.5 % complex noise with R2 = r2_of_t(t) at t = 0..t_end h,
    everything else constant; returns (spectra, truth, r2, t)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, t_end, k) if times is None else np.asarray(times, float)
    r2 = r2_of_t(t)
    truth = [dict(R0=30.0, R1=40.0, CPE1_0=2e-8, CPE1_1=0.9, R2=r2[i], CPE2_0=2e-6, CPE2_1=0.85)
             for i in range(t.size)]
    return [_spectrum(p, rng, noise, f"cp{i}") for i, p in enumerate(truth)], truth, r2, t


def _r2_in_stderr(res, r2, k):
    return (res.values[k]["R2"] - r2[k]) / res.stderr[k]["R2"]


def test_auto_smoothing_no_longer_pulls_the_first_checkpoint_of_a_decay_by_its_slope():
    """R2 = 45 + 104 exp(-t/300 h) over 100 checkpoints, three seeds: the first-difference
    penalty pulled the first value towards the second by the slope (mean -3.9 standard errors,
    each seed below -2.9); the second difference pulls by the curvature only (mean -1.6 here:
    a fast decay's curvature at t = 0 still leans it a little, see CLI.md)."""
    z_first, z_last, gain = [], [], []
    for seed in range(3):
        spectra, truth, r2, _ = decay_campaign(100, seed, lambda t: 45.0 + 104.0 * np.exp(-t / 300.0))
        res = joint_fit(spectra, CIRCUIT, smooth="auto", start_values=truth)
        assert res.smoothing["lambda"]["R2"] > 0 and res.smoothing["supported"]
        z_first.append(_r2_in_stderr(res, r2, 0))
        z_last.append(_r2_in_stderr(res, r2, 99))
        gain.append(res.stderr[0]["R2"] / res.independent_stderr[0]["R2"])
    assert abs(np.mean(z_first)) < 2.5
    assert abs(np.mean(z_last)) < 2.0
    assert max(gain) < 0.6  # and it still smooths the first value (old: 0.65)


def test_a_linear_trend_is_not_penalised_at_either_end():
    """ln R2 linear in time (149 -> 45 ohm): whatever lambda, the smoothed ends stay on the truth."""
    spectra, truth, r2, _ = decay_campaign(40, 3, lambda t: 149.0 * (45.0 / 149.0) ** (t / 1500.0))
    res = joint_fit(spectra, CIRCUIT, smooth=1e6, start_values=truth)
    assert res.smoothing["supported"]
    for k in (0, 39):
        assert abs(_r2_in_stderr(res, r2, k)) < 2.0
    assert res.stderr[0]["R2"] < 0.5 * res.independent_stderr[0]["R2"]


def test_uneven_times_use_divided_differences():
    """Checkpoints crowded at the start (t^2 spacing): a trend linear in time is not linear in the
    index; with ``positions`` (hours) the penalty leaves it free, at the ends too."""
    times = 1500.0 * np.linspace(0.0, 1.0, 40) ** 2
    spectra, truth, r2, t = decay_campaign(40, 4, lambda t: 149.0 * (45.0 / 149.0) ** (t / 1500.0), times=times)
    res = joint_fit(spectra, CIRCUIT, smooth=1e6, start_values=truth, positions=t)
    assert res.smoothing["spacing"] == "positions" and res.smoothing["supported"]
    for k in (0, 20, 39):
        assert abs(_r2_in_stderr(res, r2, k)) < 2.0
    by_index = joint_fit(spectra, CIRCUIT, smooth=1e6, start_values=truth, warn_verdicts=False)
    assert by_index.smoothing["spacing"] == "index" and not by_index.smoothing["supported"]
    with pytest.raises(FitError, match="positions"):
        joint_fit(spectra, CIRCUIT, smooth="auto", start_values=truth, positions=t[::-1])


# ---------------------------------------------------------------- campaign integration
def test_fit_campaign_with_shared_parameters_table_and_report(tmp_path):
    spectra, _ = constant_bulk_campaign(k=5)
    camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, area_cm2=AREA, shared=SHARED, cache_dir=False,
                               progress=False)
    table = camp.table
    assert set(table["shared"]) == {"R1,CPE1_0,CPE1_1"}
    assert table["R1"].nunique() == 1 and table["R1_stderr"].nunique() == 1
    assert "supported (dAIC = " in camp.report()
    camp.write(tmp_path, figures=True)
    assert (tmp_path / "evolution.png").exists()


def test_cli_arrhenius_without_temperatures_is_a_clear_error(tmp_path):
    from click.testing import CliRunner

    from eisfit.cli import main

    spectra, _ = constant_bulk_campaign(k=3)
    for i, s in enumerate(spectra):
        np.savetxt(tmp_path / f"cp{i}.csv", np.c_[s.frequency, s.z.real, s.z.imag], delimiter=",",
                   header="freq/Hz,Re(Z)/Ohm,Im(Z)/Ohm", comments="")
    out = CliRunner().invoke(main, [
        "campaign", str(tmp_path / "*.csv"), "--area-cm2", "0.785", "--thickness-cm", "0.03",
        "--arrhenius", "--out", str(tmp_path / "out"), "--no-cache", "--no-progress"])
    assert out.exit_code == 2
    assert "eisfit: error:" in out.output and "temperature" in out.output


def test_joint_fit_flags_a_capped_exponent_and_not_a_small_q():
    """The joint fit's at-bound rule is the single fit's (Transform.on_bounds) plus its own
    collapse rule: CPE2_1 capped at 0.8 below its true 0.85 sits on that bound in every
    checkpoint (flagged, stderr nan); CPE1_0 = 2e-8 S*s^n is nowhere near its bound 0."""
    spectra, truth = constant_bulk_campaign(k=4, noise=0.003, seed=5)
    capped = [{**t, "CPE2_1": 0.8} for t in truth]
    res = joint_fit(spectra, CIRCUIT, start_values=capped, bounds={"CPE2_1": (0.5, 0.8)})
    for k in range(4):
        assert "at-bound:CPE2_1" in res.flags[k]
        assert not any(f.startswith("at-bound:") and f != "at-bound:CPE2_1" for f in res.flags[k]), res.flags[k]
        assert np.isnan(res.stderr[k]["CPE2_1"]) and np.isfinite(res.stderr[k]["CPE1_0"])


# ------------------------------------------------- a campaign's joint fit against its own data
def _with_label_meta(spectra):
    return [Spectrum(s.frequency, s.z, {"label": s.label, "time_h": float(k)}) for k, s in enumerate(spectra)]


def test_a_campaign_leaves_an_unfittable_checkpoint_out_of_the_joint_fit():
    """One checkpoint of pure noise: its own fit is unresolved. It no longer enters the
    shared fit (it pulled a shared R1 from 60 to 68.5 ohm and every R2 off by 5-17 %, and
    crashed the report with a ZeroDivisionError); a warning names it, its row keeps its
    own fit, and the shared values are the other checkpoints'."""
    spectra, truth = constant_bulk_campaign(k=8, noise=0.005, seed=3)
    rng = np.random.default_rng(9)
    noise = Spectrum(F, 200 * (1 + rng.normal(size=F.size)) - 1j * np.abs(100 * rng.normal(size=F.size)),
                     {"label": "cp-noise"})
    spectra = _with_label_meta(spectra[:4] + [noise] + spectra[4:])
    with pytest.warns(Warning, match="left out 1 checkpoint.*cp-noise"):
        camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, shared=SHARED, area_cm2=AREA, cache_dir=False,
                                   progress=False)
    assert camp.results[4].settings.get("joint") is None  # its own fit
    assert camp.table["shared"].iloc[4] == "" and camp.table["shared"].iloc[0] == ",".join(SHARED)
    assert any(f.startswith("unresolved:") for f in camp.results[4].flags)
    good = [r for k, r in enumerate(camp.results) if k != 4]
    assert all(r.settings.get("joint") for r in good)
    assert good[0].values["R1"] == pytest.approx(40.0, rel=0.01)
    for r, t in zip(good, truth):
        assert r.values["R2"] == pytest.approx(t["R2"], rel=0.02)
    assert "Median relative standard error" in "\n".join(camp.joint.summary_lines())


def test_the_joint_summary_of_a_fit_without_standard_errors_says_so():
    """A joint fit that did not converge has no covariance: every stderr nan. Its summary
    printed 'R2 nan %' and numpy's 'All-NaN slice encountered' reached the command's terminal
    as "eisfit: warning: All-NaN slice encountered" (`eisfit campaign` on yadg's folder with
    --shared R0)."""
    import dataclasses
    import warnings

    spectra, _ = constant_bulk_campaign(k=4, noise=0.005, seed=3)
    camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, shared=SHARED, area_cm2=AREA, cache_dir=False,
                               progress=False)
    no_errors = [{n: float("nan") for n in e} for e in camp.joint.stderr]
    joint = dataclasses.replace(camp.joint, stderr=no_errors)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = "\n".join(joint.summary_lines())
    line = next(ln for ln in text.splitlines() if ln.startswith("Median relative standard error"))
    assert "nan" not in line
    assert f"{joint.local[0]} none (no finite standard error) (independent " in line


def test_a_campaign_keeps_the_independent_fits_when_the_data_reject_the_sharing():
    """R1 triples over the campaign: AIC and BIC reject a shared R1. The table keeps the
    independent fits (the shared fit's R2 was the headline, with error bars that assume
    what the data reject) and a warning says so; the joint fit stays in .joint."""
    spectra, truth = constant_bulk_campaign(k=8, r1_drift=3.0, noise=0.005, seed=4)
    with pytest.warns(Warning, match="table keeps the independent fits"):
        camp = eisfit.fit_campaign(_with_label_meta(spectra), circuit=CIRCUIT, shared=SHARED, area_cm2=AREA,
                                   cache_dir=False, progress=False)
    assert camp.joint.rejected_assumptions and camp.joint.sharing["delta_bic"] < 0
    r1 = camp.table["R1"].to_numpy()
    assert r1[-1] / r1[0] == pytest.approx(3.0, rel=0.05)  # each checkpoint's own R1
    assert all(r.settings.get("joint") is None for r in camp.results)
    assert "hold the independent fits, not this joint fit" in camp.report()
    assert set(camp.table["joint_fit"]) == {"independent: joint fit rejected"}
    assert all("joint fit rejected by the data: sharing (dAIC = " in n for n in camp.table["notes"])


def test_a_smoothing_the_data_reject_is_named_and_not_the_headline():
    """lambda = 1e9 flattened a real 117 -> 35 ohm*cm2 evolution to one value, silently.
    The smoothing evidence (chi-square rise against the parameters removed) rejects it.
    (The penalty is on second differences of ln R: a geometric 117 -> 35 is free of it, so the
    evolution here decays fast and then levels off, which lambda = 1e9 bends into a line.)"""
    asr = 35.0 + 82.0 * np.exp(-3.0 * np.linspace(0.0, 1.0, 8))
    spectra, truth = constant_bulk_campaign(k=8, noise=0.005, seed=5, r2_asr=asr)
    with pytest.warns(Warning, match="Smoothing raises chi-square.*do NOT allow it"):
        camp = eisfit.fit_campaign(_with_label_meta(spectra), circuit=CIRCUIT, smooth=1e9, area_cm2=AREA,
                                   cache_dir=False, progress=False)
    assert not camp.joint.smoothing["supported"]
    r2 = camp.table["R2"].to_numpy()
    assert r2[0] / r2[-1] == pytest.approx(asr[0] / asr[-1], rel=0.05)


def test_smoothing_evidence_against_a_chi_square_of_the_removed_parameters():
    from eisfit.series.evidence import smoothing_evidence

    # s^2 = 100 / 100 = 1: a rise of 30 for 20 parameters removed is within 20 + 4 sqrt(40)
    ok = smoothing_evidence(130.0, 100.0, 100.0, 20.0)
    assert ok["supported"] and ok["delta_chisq_s2"] == pytest.approx(30.0)
    bad = smoothing_evidence(150.0, 100.0, 100.0, 20.0)
    assert not bad["supported"] and "do NOT allow it" in bad["statement"]
    assert smoothing_evidence(100.0, 100.0, 100.0, 0.0)["supported"]


def test_joint_summary_with_a_zero_value_does_not_divide_by_it():
    from eisfit.series.joint import _relative

    assert np.isnan(_relative(1.0, 0.0)) and _relative(1.0, -4.0) == 0.25


def _drifting_r1_campaign(r1s, seed=3, noise=0.005):
    """Six spectra whose R1 drifts slightly (``r1s``, ohm) while R2 falls: the auditor's
    case of a sharing the AIC rejects and the BIC supports."""
    circ = Circuit(CIRCUIT)
    f = np.logspace(np.log10(7e6), 0, 69)
    rng = np.random.default_rng(seed)
    spectra = []
    for k, (r1, r2) in enumerate(zip(r1s, (149.0, 120.0, 95.0, 74.0, 58.0, 45.0))):
        z = circ.impedance([40.0, r1, 1e-8, 0.9, r2, 2e-6, 0.85], f)
        z = z + noise * np.abs(z) * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
        spectra.append(Spectrum(f, z, {"label": f"{100 * k} h", "time_h": 100.0 * k}))
    return spectra


def test_a_sharing_only_the_aic_rejects_is_not_the_table():
    """R1 drifts 60 -> 61.5 ohm over six checkpoints: dAIC < 0 (rejects), dBIC > 0 (supports).
    The shared fit had been the table, R1 60.5 +- 0.16 on every row (3-6 of its standard
    errors from the true 60 and 61.5) while the text said "independent fits preferred". One
    rule now, the AIC's: the table holds the checkpoints' own fits, every row says so and why,
    and the report's words match the table."""
    spectra = _drifting_r1_campaign([60.0, 60.3, 60.6, 60.9, 61.2, 61.5])
    with pytest.warns(Warning, match="NOT supported.*the table keeps the independent fits"):
        camp = eisfit.fit_campaign(spectra, circuit=CIRCUIT, shared=["R0", "R1", "CPE1_0", "CPE1_1"], area_cm2=AREA,
                                   cache_dir=False, progress=False)
    sharing = camp.joint.sharing
    assert sharing["delta_aic"] < 0 < sharing["delta_bic"] and not sharing["supported"]
    assert not camp.joint.accepted and camp.joint.rejected_assumptions == [sharing["statement"]]
    r1 = camp.table["R1"].to_numpy()
    assert r1.std() > 0 and r1[-1] - r1[0] == pytest.approx(1.5, abs=1.0)  # each checkpoint's own R1
    assert set(camp.table["joint_fit"]) == {"independent: joint fit rejected"}
    assert set(camp.table["seed_source"]) <= {"cold", "seeded"} and set(camp.table["shared"]) == {""}
    assert all(r.settings.get("joint") is None for r in camp.results)
    report = camp.report()
    assert "hold the independent fits, not this joint fit, whose assumptions the data reject: sharing (dAIC = " \
        in report
    assert "(shared" not in "\n".join(camp.evolution_lines())
    assert camp.joint_records()[0]["table_holds"] == "independent"
    # the shared values the data reject are what was tried (they read as results)
    assert "Shared values (tried; rejected): R0 = " in report
    assert camp.joint_records()[0]["shared_values"]["R1"]["status"] == "tried; rejected"


def test_sharing_evidence_is_decided_by_the_aic_alone():
    from eisfit.series.evidence import sharing_evidence

    # AIC rejects (chisq rise too large for 20 parameters by 2 each), BIC supports (ln N each)
    s = sharing_evidence(["R1"], 6, 828, 0.021213, 22, 0.019848, 42)
    assert s["delta_aic"] < 0 < s["delta_bic"]
    assert s["supported"] is False and s["preferred"] == "independent" and "the AIC decides" in s["statement"]
    assert "AIC decides" in s["rule"]
    ok = sharing_evidence(["R1"], 6, 828, 0.0199, 22, 0.019848, 42)
    assert ok["supported"] is True and ok["statement"].endswith(f"is supported (dAIC = {ok['delta_aic']:.0f})")


def test_an_empty_shared_list_is_refused_and_smooth_0_alone_asks_for_no_joint_fit():
    """shared=[] (--shared "") and smooth=0 had run a joint fit that assumed nothing and
    reported it as "the joint fit (the data allow what it assumes)"."""
    from eisfit.settings import CampaignSettings

    with pytest.raises(eisfit.FitError, match="shared names no parameter"):
        CampaignSettings(fit={}, shared=[])
    with pytest.raises(eisfit.FitError, match="shared names no parameter"):
        CampaignSettings(fit={}, shared=[""])
    assert not CampaignSettings(fit={}, smooth=0).joint and CampaignSettings(fit={}, smooth=0.5).joint
    assert CampaignSettings(fit={}, smooth=0, shared=["R1"]).joint


def test_joint_option_errors_name_the_parameter_and_offer_the_right_spelling():
    from eisfit.model import Circuit
    from eisfit.series.joint import check_joint_parameters
    from eisfit.series.evidence import sharing_statement

    circuit = Circuit("R0-p(R1,CPE1)")
    with pytest.raises(eisfit.FitError, match=r"shared: unknown parameter\(s\) r1 \(did you mean 'R1'\?\)"):
        check_joint_parameters(circuit, shared=["r1"])
    with pytest.raises(eisfit.FitError, match=r"arrhenius: R1 named twice"):
        check_joint_parameters(circuit, arrhenius=["R1", "R1"])
    law_only = {"n_checkpoints": 6, "delta_aic": -4.0, "delta_bic": 35.0, "shared": [], "arrhenius": ["R1"],
                "preferred": "independent", "supported": False, "verdict": "rejected"}
    text = sharing_statement(law_only)
    assert "would prefer the law" in text and "sharing" not in text


def test_smooth_0_alone_says_it_runs_no_joint_fit():
    f = np.logspace(5, -1, 31)
    spectra = [eisfit.Spectrum(f, 10 + r / (1 + 2j * np.pi * f * r * 1e-5)) for r in (100.0, 110.0, 120.0)]
    from eisfit.campaign import CampaignWarning

    with pytest.warns(CampaignWarning, match="smooth=0 smooths nothing: no joint fit is run"):
        camp = eisfit.fit_campaign(spectra, circuit="R0-p(R1,C1)", smooth=0, cache_dir=False, progress=False)
    assert camp.joint is None


def test_a_campaign_without_cell_names_is_not_called_cell_cell():
    """A joint fit of one checkpoint had warned "cell 'cell' has 1 checkpoint(s)"; named cells keep their name."""
    f = np.logspace(5, -1, 31)
    spectrum = eisfit.Spectrum(f, 10 + 100 / (1 + 2j * np.pi * f * 100 * 1e-5))
    from eisfit.campaign import CampaignWarning

    with pytest.warns(CampaignWarning, match=r"joint fit: the campaign has 1 checkpoint\(s\) to fit jointly"):
        eisfit.fit_campaign([spectrum], circuit="R0-p(R1,C1)", shared=["R0"], cache_dir=False, progress=False)
    named = eisfit.Spectrum(f, spectrum.z, meta={"cell": "A"})
    with pytest.warns(CampaignWarning, match=r"joint fit: cell 'A' has 1 checkpoint\(s\)"):
        eisfit.fit_campaign([named], circuit="R0-p(R1,C1)", shared=["R0"], cache_dir=False, progress=False)
