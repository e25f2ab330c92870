"""The Pareto/NBD's hypergeometric term where its series is not used (``z > 0.9``): tanh-sinh
quadrature of the value, with the ``k`` and ``b`` derivatives integrated on the same nodes.

The references are ``log G`` (``G = 2F1(k, b; k+1; z) / k``) and its derivatives computed with
mpmath 1.4.1 at 30 digits by adaptive quadrature of ``(1/k) ∫_0^∞ e^-v (1 - z e^(-v/k))^-b dv``
and of its derivatives under the integral sign, split around the peak at ``v ~ k(1 - z)``
(checked against mpmath's ``hyp2f1`` and its numerical derivatives where that converges). The
rows cover ``z`` just past the series' limit, the middle of the region, ``z`` near 1, and the
large ``k`` and ``b`` of a fit wandering to large ``s`` and ``β``.
"""

from __future__ import annotations

import numpy as np
import pytest

from regulars.analytics.models import _special as sp

# k, b, z, log G, ∂log G/∂k, ∂log G/∂b, ∂log G/∂z
_REFERENCE = np.array([
    (0.16, 0.15, 0.9000001,
     1.8619727831466166, -6.088225743408959, 0.20802677788332716, 0.0660667632578161),
    (12.5, 1.01, 0.9000001,
     -0.6085665249853368, -0.05877585898839945, 1.9432283257232883, 7.006718358096336),
    (40.0, 30.2, 0.93,
     74.24985861023578, -0.0024073172477492946, 2.6283394623474363, 417.51335155966046),
    (200.0, 181.0, 0.95,
     534.0332830678753, -0.0002776838770362404, 2.99048541832769, 3600.1110425536076),
    (0.5, 1.2, 0.97,
     1.9015193682339602, -0.7627823426345394, 1.6312919217722384, 9.832702186912186),
    (3.7, 2.5, 0.99,
     6.468764820588426, -0.01388453577921347, 3.993437913221016, 152.94348352982587),
    (31.2, 30.2, 0.99,
     131.09609203169438, -0.0003542102996468152, 4.571302932009819, 2920.070816066434),
    (150.0, 2.0, 0.995,
     4.525251251665626, -0.002852024943193085, 4.912702198611747, 284.70321762180623),
    (0.14, 1.0067, 0.97,
     2.352165292934686, -4.974054193096701, 0.713853216068838, 3.203611838874097),
    (0.84, 1.038, 0.9997,
     2.2834416530648185, -0.2224118110289811, 4.152177919647374, 461.7455891674136),
    (1.0, 0.15, 0.999,
     0.160697067780707, -0.8999530909838687, 1.156946863330633, 1.401395363481574),
    (30.0, 1.01, 0.999,
     1.1721669451358192, -0.009915877239784824, 5.200406175817479, 302.1464476512032),
    (200.0, 181.0, 0.9999,
     1652.6682989317276, -5.586525919729857e-07, 9.204785437492575, 1800000.1117306538),
    (5.0, 3.5, 0.99999,
     27.866006264910535, -6.665988497955075e-06, 11.112943239292843, 250001.6664655854),
    (20000.0, 30.2, 0.99999,
     332.7961998011344, -3.519356730861576e-07, 11.47892841013329, 2920702.843450996),
    (20000.0, 181.0, 0.999997,
     2283.848399500918, -1.6754148370540045e-08, 12.711344585623635, 60000110.68956681),
    (20000.0, 0.16, 0.999999,
     -8.223783038235986, -4.270042833867593e-05, 10.606726660176383, 14005.07779497873),
    (72000.0, 30.2, 0.999998,
     379.7937515303002, -7.053562673509104e-08, 13.088296855731446, 14602538.252947468),
    (1000000.0, 12.2, 0.999999,
     152.22511281663068, -8.779424113112193e-08, 13.734745253936378, 11287793.24915833),
    (1000000.0, 181.0, 0.999997,
     2283.8321152353165, -1.6480564735414695e-08, 12.711434775283172, 60005492.53314873),
    (5000.0, 181.0, 0.9995,
     1362.956113037599, -2.755774448048516e-06, 7.595423859757577, 360026.5655921101),
])


def test_the_fallback_matches_mpmath_across_its_region():
    k, b, z = _REFERENCE[:, :3].T
    log_g, d_k, d_b, d_z = sp._fallback(k, b, z)
    ref = _REFERENCE[:, 3:]
    np.testing.assert_allclose(log_g, ref[:, 0], rtol=1e-13, atol=1e-13)
    # ∂log G/∂k is a small difference of two terms of size 1/k: measured against 1/k
    assert np.max(np.abs(d_k - ref[:, 1]) * k) < 1e-11
    np.testing.assert_allclose(d_b, ref[:, 2], rtol=1e-13)
    np.testing.assert_allclose(d_z, ref[:, 3], rtol=1e-11)


def test_hyp_series_sends_the_region_to_the_fallback_with_the_callers_one_minus_z():
    k, b, z = _REFERENCE[:, :3].T
    direct = sp._fallback(k, b, z)
    for one_minus_z in (None, 1.0 - z):
        through = sp.hyp_series(k, b, z, one_minus_z)
        for got, want in zip(through, direct, strict=True):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("seed", [3, 4])
def test_the_fallback_agrees_with_the_series_where_both_converge(seed):
    """Below ``z = 0.9`` the series (exact derivatives) is used; the quadrature gives the
    same values there, so nothing jumps where the two meet."""
    rng = np.random.default_rng(seed)
    n = 2000  # several of the quadrature's blocks
    k = np.exp(rng.uniform(np.log(0.1), np.log(500.0), n))
    b = np.minimum(np.exp(rng.uniform(np.log(0.1), np.log(200.0), n)), k + 0.9)
    z = rng.uniform(0.3, 0.9, n)
    series = sp._series(k, b, z)
    quad = sp._fallback(k, b, z)
    np.testing.assert_allclose(quad[0], series[0], rtol=1e-13, atol=1e-13)
    assert np.max(np.abs(quad[1] - series[1]) * k) < 1e-11
    np.testing.assert_allclose(quad[2], series[2], rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(quad[3], series[3], rtol=1e-10)
