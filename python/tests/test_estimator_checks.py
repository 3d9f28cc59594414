"""scikit-learn's estimator checks (`check_estimator`) on every estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from gpu_cluster import DBSCAN, KMeans, MeanShift, NearestNeighbors

ESTIMATORS = [
    MeanShift(),
    # A fixed seed keeps the checks deterministic.
    KMeans(n_clusters=3, random_state=0),
    NearestNeighbors(),
    DBSCAN(),
]


def expected_failed_checks(estimator):
    if isinstance(estimator, KMeans):
        return {
            # As scikit-learn marks its own BisectingKMeans: the initial
            # centres are drawn at random, and a weighted point is one draw
            # where its repeats are several, so the fits start apart.
            "check_sample_weight_equivalence_on_dense_data": (
                "sample_weight is not equivalent to removing/repeating samples "
                "(random initialisation)"
            ),
        }
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
