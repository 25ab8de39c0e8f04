"""``GridSearchCV`` and ``RandomizedSearchCV`` that train every candidate and fold together: part of ``nnbasics.sklearn``."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse
from sklearn import model_selection
from sklearn.base import is_classifier
from sklearn.model_selection import ParameterGrid, ParameterSampler, check_cv
from sklearn.model_selection._validation import _score
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils.validation import _check_method_params

from nnbasics import compilation
from nnbasics.sklearn import _linear
from nnbasics.sklearn._mlp import _DTYPES, _BaseMLP, clone

__all__ = ["GridSearchCV", "RandomizedSearchCV"]

if TYPE_CHECKING:  # the search mixin below runs inside scikit-learn's BaseSearchCV
    from sklearn.model_selection._search import BaseSearchCV as _SearchBase
else:
    _SearchBase = object


def _is_pipeline(estimator) -> bool:
    """Whether ``estimator`` is a scikit-learn ``Pipeline`` (not importing the module to ask)."""
    pipeline = sys.modules.get("sklearn.pipeline")
    return pipeline is not None and isinstance(estimator, pipeline.Pipeline)


class _FoldSearch(_SearchBase):
    """``fit`` for an nnbasics estimator (or a Pipeline ending in one): every
    (candidate × fold) pair trained together by ``nnbasics.folds.train_folds``.

    Each pair trains exactly as scikit-learn's search would fit
    ``clone(estimator).set_params(**candidate)`` on the fold, so ``cv_results_``
    match scikit-learn's to float tolerance; the results are then formatted,
    ranked and refit by scikit-learn's own code. The fit parameter
    ``sample_weight`` (``<step>__sample_weight`` in a Pipeline) is kept per fold.
    For nnbasics' ``LogisticRegression``, ``Ridge`` and ``LinearRegression`` every
    (candidate × fold) is one vmapped solve (``_linear.fit_grid``). Other estimators,
    other fit parameters, ``early_stopping``, ``verbose``, candidates that change a
    Pipeline's other steps and sparse data (the estimator's own sparse fit, one dense
    minibatch at a time) run scikit-learn's ordinary loop (``batched_`` False).
    """

    #: configurations trained at once per compiled call (bounds the memory); a class
    #: attribute, so the constructor stays scikit-learn's: set it on an instance.
    chunk_size = 64

    def _candidates(self) -> Any:
        """The candidate parameter dicts, in scikit-learn's order (each search defines it)."""
        raise NotImplementedError

    def fit(self, X, y=None, **params):
        """Runs fit with every candidate on every fold; refits the best on all of (X, y)."""
        candidates = list(self._candidates())
        est = self.estimator
        final, name = (est.steps[-1][1], est.steps[-1][0]) if _is_pipeline(est) else (est, "")
        prefix = f"{name}__" if name else ""
        own = [
            {k[len(prefix) :]: v for k, v in c.items() if k.startswith(prefix)} for c in candidates
        ]
        weight_key = f"{name}__sample_weight" if name else "sample_weight"
        self.batched_ = (
            not set(params) - {weight_key}
            and y is not None
            and isinstance(final, _BaseMLP)
            and bool(candidates)
            and all(len(o) == len(c) for o, c in zip(own, candidates, strict=True))
            and all(
                not m.early_stopping and not m.verbose
                for m in (clone(final).set_params(**o) for o in own)
            )
        )
        linear = self._linear_plan(final, name, candidates, own, y, params)
        self.batched_ = self.batched_ or linear is not None
        if not self.batched_:
            return super().fit(X, y, **params)
        scorers, refit_metric = self._get_scorers()
        X, y = indexable(X, y)
        # scikit-learn declares no types: pyright infers check_cv's cv as int from its default
        cv: Any = check_cv(self.cv, y, classifier=is_classifier(est))  # pyright: ignore[reportArgumentType]
        splits = list(cv.split(X, y))
        self.n_splits_ = len(splits)
        warmup = None
        try:
            if linear is not None:
                out = self._solve_linear_and_score(X, y, own, splits, scorers, linear)
            else:
                if self.refit:
                    warmup = self._start_refit_warmup(X, y, candidates, own, prefix, params)
                out = self._train_and_score(X, y, candidates, own, splits, scorers, params)
        finally:
            # Also when the search fails: a thread still compiling at the interpreter's exit
            # is ended inside XLA, and the process aborts after the error was reported.
            if warmup is not None:
                warmup.join()
        if out is None:  # sparse folds: scikit-learn's loop over the estimator's sparse fit
            self.batched_ = False
            return super().fit(X, y, **params)
        results = self._format_results(candidates, self.n_splits_, out)
        self.multimetric_ = isinstance(out[0]["test_scores"], dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(out[0]["test_scores"])
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(self.refit, refit_metric, results)
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(est).set_params(**clone(self.best_params_, safe=False))
            start = time.time()
            self.best_estimator_.fit(X, y, **params)
            self.refit_time_ = time.time() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = getattr(scorers, "_scorers", scorers)
        self.cv_results_ = results
        return self

    def _linear_plan(self, final, name, candidates, own, y, params):
        """For a linear model's grid: ``{"sample_weight": array or None}``, else None (not batched).

        Batched when the final step is an nnbasics ``LogisticRegression``, ``Ridge`` or
        ``LinearRegression``, the candidates set only its parameters, and the only fit
        parameter is its ``sample_weight`` (``<step>__sample_weight`` in a Pipeline).
        """
        weight_key = f"{name}__sample_weight" if name else "sample_weight"
        if (
            _linear.grid_parameter(final) is None
            or y is None
            or not candidates
            or set(params) - {weight_key}
            or any(len(o) != len(c) for o, c in zip(own, candidates, strict=True))
        ):
            return None
        return {"sample_weight": params.get(weight_key), "params": params}

    def _solve_linear_and_score(self, X, y, own, splits, scorers, plan):
        """Every (candidate × fold) of a linear model by ``_linear.fit_grid``, then scored."""
        est = self.estimator
        final = est.steps[-1][1] if _is_pipeline(est) else est
        weights = plan["sample_weight"]
        heads, folds = [], []
        for train, _ in splits:
            head, X_tr, y_tr = _fold_train(est, X, y, train)
            heads.append(head)
            folds.append((X_tr, y_tr, None if weights is None else _safe_indexing(weights, train)))
        members = [[clone(final).set_params(**o) for _ in splits] for o in own]
        fit_time = _linear.fit_grid(members, folds)
        routed = self._get_routed_params_for_fit(plan["params"])
        return self._score_pairs(
            X, y, splits, heads, members, fit_time, scorers, routed.scorer.score
        )

    def _start_refit_warmup(self, X, y, candidates, own, prefix, params):
        """A thread compiling the refit's programs while the search compiles and trains.

        When every candidate shares the refit's structure (only numeric parameters
        differ: they are inputs of the compiled programs), a one-epoch fit of the
        first candidate on all of (X, y) traces and compiles the programs the
        refit will call; XLA compiles with the GIL released, so this overlaps the
        search on a second core. Its model is thrown away: results are unchanged.
        """
        est = self.estimator
        final = est.steps[-1][1] if _is_pipeline(est) else est
        structures = {
            (m.solver, m.grad, m.dtype, m.activation, m.batch_size, m.alpha == 0)
            + tuple(np.atleast_1d(m.hidden_layer_sizes).tolist())
            for m in (clone(final).set_params(**o) for o in own)
        }
        if len(structures) != 1:
            return None
        compilation.use_default_cache()  # once, here, rather than racing in both threads
        probe = clone(est).set_params(**clone(candidates[0], safe=False))
        probe.set_params(**{f"{prefix}max_iter": 1, f"{prefix}random_state": 0})

        def compile_refit():
            with contextlib.suppress(Exception):  # the refit runs next and reports any error
                probe.fit(X, y, **params)

        thread = threading.Thread(target=compile_refit, name="nnbasics-refit-warmup", daemon=True)
        thread.start()
        return thread

    def _train_and_score(self, X, y, candidates, own, splits, scorers, params):
        """The list of per-(candidate, split) dicts scikit-learn's ``_fit_and_score`` returns,
        or None when the folds' data reach the estimator sparse (they are not stacked).

        ``params`` holds at most the final step's ``sample_weight``: each fold trains
        on its rows' weights (and scikit-learn's scorers get them where they take them).
        """
        est = self.estimator
        final = est.steps[-1][1] if _is_pipeline(est) else est
        weights = next(iter(params.values()), None)
        fold_weights = None if weights is None else [_safe_indexing(weights, t) for t, _ in splits]
        folds = []  # per split: (model maker, (X_f, y_f) prepared, n_out, fitted template)
        for train, _ in splits:
            head, X_tr, y_tr = _fold_train(est, X, y, train)
            template = clone(final)
            Xf, tf, n_out = template._prepare(X_tr, y_tr)
            if scipy.sparse.issparse(Xf):
                return None
            folds.append((head, template, Xf, tf, n_out))

        n_cand, n_splits = len(candidates), len(splits)
        members = [[clone(final).set_params(**o) for _ in splits] for o in own]
        fitted = [[None] * n_splits for _ in range(n_cand)]
        fit_time = np.zeros((n_cand, n_splits))
        # Pairs that share the training program's structure train in one train_folds
        # call: folds of one row bucket, each minibatch of the same size or each the
        # whole fold (batch "auto" is min(200, n)); l2 = alpha / batch is given per fold.
        from nnbasics.train import _buckets

        groups: dict = {}
        for c in range(n_cand):
            for f, (_, _, Xf, _, n_out) in enumerate(folds):
                m = members[c][f]
                n = Xf.shape[0]
                net, batch, seed = m._plan(n, Xf.shape[1], n_out)
                minibatch = None if batch >= n else batch
                key = (m.solver, int(m.max_iter), m.grad, m.dtype, _buckets.size(n))
                key += (Xf.shape[1:], n_out, minibatch)
                config = dict(
                    learning_rate=float(m.learning_rate_init),
                    l2=float(m.alpha) / batch,
                    sizes=net.sizes,
                    hidden=net.hidden,
                    batch_size=batch,
                )
                groups.setdefault(key, {}).setdefault(c, {})[f] = (config, seed)
        for (solver, epochs, grad, dtype, *_, minibatch), pairs in groups.items():
            # Every candidate covers every fold of the group: a (configs × folds) grid,
            # whose configs differ across folds in l2 and the whole-fold batch only.
            cands = list(pairs)
            fold_ids = sorted(pairs[cands[0]])
            self._train_group(
                solver,
                epochs,
                grad,
                dtype,
                [_whole_fold_batch(pairs[c][fold_ids[0]][0], minibatch) for c in cands],
                np.asarray([[pairs[c][f][0]["l2"] for f in fold_ids] for c in cands]),
                [[pairs[c][f][1] for f in fold_ids] for c in cands],
                [folds[f] for f in fold_ids],
                cands,
                fold_ids,
                members,
                fitted,
                fit_time,
                None if fold_weights is None else [fold_weights[f] for f in fold_ids],
            )

        routed = self._get_routed_params_for_fit(params)
        heads = [f[0] for f in folds]
        return self._score_pairs(
            X, y, splits, heads, fitted, fit_time, scorers, routed.scorer.score
        )

    def _score_pairs(self, X, y, splits, heads, fitted, fit_time, scorers, score_params=None):
        """scikit-learn's per-(candidate, split) result dicts for the fitted models ``fitted[c][f]``.

        ``score_params``: what scikit-learn's search routes to its scorers (the
        ``sample_weight`` fit parameter, where they accept it), indexed per split as there.
        """
        est = self.estimator
        score_params = score_params or {}
        out = []
        for c in range(len(fitted)):
            for f, (train, test) in enumerate(splits):
                head = heads[f]
                model = fitted[c][f]
                if head is not None:
                    model = sys.modules["sklearn.pipeline"].Pipeline(
                        [*head.steps, (est.steps[-1][0], model)]
                    )
                X_te, y_te = _safe_indexing(X, test), _safe_indexing(y, test)
                start = time.time()
                # scikit-learn declares no types: error_score is inferred str from "raise"
                result = {
                    "fit_error": None,
                    "test_scores": _score(
                        model,
                        X_te,
                        y_te,
                        scorers,
                        _check_method_params(X, score_params, test),
                        self.error_score,  # pyright: ignore[reportArgumentType]
                    ),
                    "n_test_samples": len(test),
                    "fit_time": fit_time[c, f],
                }
                if self.return_train_score:
                    X_tr, y_tr = _safe_indexing(X, train), _safe_indexing(y, train)
                    # scikit-learn declares no types: error_score is inferred str from "raise"
                    result["train_scores"] = _score(
                        model,
                        X_tr,
                        y_tr,
                        scorers,
                        _check_method_params(X, score_params, train),
                        self.error_score,  # pyright: ignore[reportArgumentType]
                    )
                result["score_time"] = time.time() - start
                out.append(result)
        return out

    def _train_group(
        self,
        solver,
        epochs,
        grad,
        dtype,
        configs,
        l2,
        seeds,
        folds,
        cands,
        fold_ids,
        members,
        fitted,
        fit_time,
        sample_weights=None,
    ):
        """Trains configs × folds in one ``train_folds`` call; stores fitted members."""
        from nnbasics import folds as nb_folds
        from nnbasics.mlp import MLP

        start = time.time()
        net = MLP(sizes=configs[0]["sizes"], output=members[cands[0]][fold_ids[0]]._output)
        trained = nb_folds.train_folds(
            net,
            [(Xf, tf) for _, _, Xf, tf, _ in folds],
            configs=configs,
            optimizer=solver,
            epochs=epochs,
            grad=grad,
            dtype=_DTYPES[dtype],
            chunk_size=self.chunk_size,
            seeds=np.asarray(seeds, np.int64),
            sample_weights=sample_weights,
            fold_values={"l2": l2},
        )
        share = (time.time() - start) / (len(configs) * len(folds))
        for r, c in enumerate(cands):
            for a, f in enumerate(fold_ids):
                m = members[c][f]
                # the fold's validated attributes: n_features_in_, feature names, classes_
                for k, v in vars(folds[a][1]).items():
                    if k.endswith("_") or k == "_y_1d":
                        setattr(m, k, v)
                fitted[c][f] = m._set_fitted(
                    trained.nets[r], trained.params[r][a], trained.train_loss[r, a]
                )
                fit_time[c, f] = share


class GridSearchCV(_FoldSearch, model_selection.GridSearchCV):
    """scikit-learn's ``GridSearchCV``, training every (candidate × fold) pair at once.

    Same parameters, attributes and results as scikit-learn's (``cv_results_``,
    ``best_params_``, ``best_score_``, ``best_estimator_``, ``predict``,
    ``score``, ...). For an nnbasics ``MLPClassifier``/``MLPRegressor``, or a
    ``Pipeline`` ending in one with the grid over its parameters, the fits go
    through ``nnbasics.folds.train_folds``: one compiled program per structure
    (solver, layer sizes, activation, batch size, epochs) trains every
    candidate on every fold, ``chunk_size`` (64) candidates at a time; the
    numeric parameters (``learning_rate_init``, ``alpha``) are inputs of that
    program. ``batched_`` says whether it did.
    """

    def _candidates(self):
        return ParameterGrid(self.param_grid)


class RandomizedSearchCV(_FoldSearch, model_selection.RandomizedSearchCV):
    """scikit-learn's ``RandomizedSearchCV``, training every (candidate × fold) pair at once.

    The candidates are scikit-learn's own ``ParameterSampler`` draws (the same
    for the same ``random_state``); the rest is as :class:`GridSearchCV`.
    """

    def _candidates(self):
        return ParameterSampler(
            self.param_distributions, self.n_iter, random_state=self.random_state
        )


def _whole_fold_batch(config, minibatch):
    """The config, without its ``batch_size`` where each fold trains on whole-fold batches.

    train_folds' default batch is then each fold's own size: folds of different sizes
    share the config (and, in one row bucket, the program).
    """
    if minibatch is not None:
        return config
    return {k: v for k, v in config.items() if k != "batch_size"}


def _fold_train(est, X, y, train):
    """A fold's training rows, through a clone of the Pipeline's head fitted on them.

    Returns (the fitted head or None, X_train transformed, y_train).
    """
    X_tr, y_tr = _safe_indexing(X, train), _safe_indexing(y, train)
    if not _is_pipeline(est):
        return None, X_tr, y_tr
    head = clone(est[:-1])
    return head, head.fit_transform(X_tr, y_tr), y_tr
