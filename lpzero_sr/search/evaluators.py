"""Outcomes of whole populations: the compiled evaluator and the reference it is checked against.

Both take a population of prefix rows (:mod:`lpzero_sr.search.programs`) and return ``(loss, verdict)`` arrays:
``verdict`` is the index in ``rules.rules`` of the rule that rejected a formula (its loss is ``WORST_LOSS``), or
-1. :class:`ReferenceEvaluator` asks :class:`~lpzero_sr.search.fitness.Fitness` (or
:class:`~lpzero_sr.search.multitask.MultiFitness`) formula by formula, in Python; :class:`CompiledEvaluator` runs the
generated kernels (:mod:`lpzero_sr.search.compiled`) on the whole population at once, deciding the same rules in
the same order with the same arithmetic, so both give the same bits (``tests/search/test_evaluators.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from lpzero_sr.operators import OPS
from lpzero_sr.ranking import Aggregation, Method
from lpzero_sr.rules.ruleset import EarlyRejection, Finite, NonConstant, RuleSet
from lpzero_sr.search import rankcorr
from lpzero_sr.search.compiled import kernels, loop_arguments
from lpzero_sr.search.fitness import Fitness, subsample
from lpzero_sr.search.multitask import MultiFitness, Reduce
from lpzero_sr.search.programs import Alphabet
from lpzero_sr.search.structure import StructureChecks
from lpzero_sr.table import StatTable

FINITE, NON_CONSTANT = 0, 1
MIN_PER_THREAD = 16  # fewer formulas per thread are evaluated in the calling thread


class UnsupportedRules(ValueError):
    """A rule set with a value or sample rule of a kind that the compiled evaluator does not know."""


class ReferenceEvaluator:
    """The pure-Python path: one :class:`Fitness` call per formula (``formula.evaluate_tokens`` and
    ``ranking.rank_loss``)."""

    def __init__(self, fitness: Fitness | MultiFitness, alphabet: Alphabet) -> None:
        self.fitness, self.alphabet = fitness, alphabet
        self.features = tuple(fitness.features)
        self.index = {r.name: i for i, r in enumerate(fitness.rules.rules)}

    def evaluate(
        self, codes: np.ndarray, lens: np.ndarray, todo: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        todo = np.arange(len(lens)) if todo is None else np.asarray(todo, np.int64)
        loss, verdict = np.empty(len(todo)), np.empty(len(todo), np.int32)
        for j, i in enumerate(todo):
            outcome = self.fitness(self.alphabet.decode(codes[i, : lens[i]]))
            loss[j] = outcome.loss
            verdict[j] = -1 if outcome.rejected_by is None else self.index[outcome.rejected_by]
        return loss, verdict

    def close(self) -> None:
        """Nothing to release."""


class CompiledEvaluator:
    """Outcomes of whole populations on one table, or several (reduced to the ``mean`` or the worst loss, ``min``
    correlation, like :class:`MultiFitness`): structural rules on the whole population first
    (:class:`~lpzero_sr.search.structure.StructureChecks`), then one compiled call evaluates every open formula
    over every table, with early rejection, value rules and the rank loss as :class:`Fitness` decides them."""

    def __init__(
        self,
        tables: Sequence[StatTable],
        rules: RuleSet,
        alphabet: Alphabet,
        method: Method = "spearman",
        aggregation: Aggregation = "sum",
        seed: int = 0,
        reduce: Reduce = "mean",
        jobs: int = 1,
    ) -> None:
        self.rules, self.alphabet, self.jobs = rules, alphabet, max(1, jobs)
        self.features = tuple(tables[0].features)
        self._pool: ThreadPoolExecutor | None = None
        self.structure = StructureChecks(rules, alphabet)
        value_rules = [(i, r) for i, r in enumerate(rules.rules) if r.stage == "values"]
        unknown = [r.name for _, r in value_rules if not isinstance(r, (Finite, NonConstant))]
        unknown += [r.name for r in rules.rules if r.stage == "sample" and not isinstance(r, EarlyRejection)]
        if unknown:
            raise UnsupportedRules(f"the compiled evaluator does not know rule(s) {', '.join(unknown)}")
        kinds = [FINITE if isinstance(r, Finite) else NON_CONSTANT for _, r in value_rules]
        self.value_kinds = np.array(kinds, np.int32)
        self.value_rules = np.array([i for i, _ in value_rules], np.int32)
        early = rules.early_rejection
        self.early = np.array(
            [float(early.params["min_corr"]) if early else -np.inf, rules.rules.index(early) if early else -1.0]
        )
        n_ops, n_feat = len(alphabet.ops), alphabet.n_features
        opcodes = list(OPS.names())
        self.sym_op = np.full(alphabet.size, -1, np.int64)
        self.sym_op[:n_ops] = [opcodes.index(name) for name in alphabet.ops]
        self.sym_col = np.full(alphabet.size, -1, np.int64)
        self.sym_col[n_ops : n_ops + n_feat] = np.arange(n_feat)
        self.sym_const = np.zeros(alphabet.size)
        self.sym_const[n_ops + n_feat :] = alphabet.constants
        self.method = rankcorr.method_code(method)
        self.aggregation = rankcorr.AGGREGATION_CODES[aggregation]
        self.reduce = 0 if reduce == "mean" else 1
        self._pack(tables, early, seed)
        self.scoring = (  # what the kernel's table_outcome reads of each table, in its order
            self.tables, self.groups, self.sample_rows, self.sample_groups, self.centred, self.dense, self.ties,
            self.early, self.value_kinds, self.value_rules, self.method, self.aggregation,
        )  # fmt: skip
        self.kernels = kernels()
        self.loops = loop_arguments()

    def _pack(self, tables: Sequence[StatTable], early: EarlyRejection | None, seed: int) -> None:
        """Every table's columns side by side, and per table one row of :attr:`tables`: its first row, rows, first
        architecture, architectures, per-layer flag, then the same for its early-rejection subsample."""
        n_feat = self.alphabet.n_features
        columns, groups, rows, sub_groups, centred, dense = [], [], [], [], [], []
        self.tables = np.zeros((len(tables), 9), np.int64)
        self.ties = np.zeros((len(tables), 2), np.int64)
        lo = arch_lo = s_lo = 0
        for t, table in enumerate(tables):
            if len(table.features) != n_feat:
                raise ValueError(f"every table needs the alphabet's {n_feat} feature columns")
            y, g = table.y, np.asarray(table.groups, np.int64)
            target = rankcorr.Target.of(y)
            columns.append(np.stack([table.column(f) for f in table.features]) if n_feat else np.zeros((0, len(g))))
            groups.append(g)
            centred.append(target.centred)
            dense.append(target.dense)
            self.ties[t, 0] = target.ties
            row = [lo, len(g), arch_lo, len(y), int(table.per_layer), s_lo, 0, 0, 0]
            arch_lo += len(y)
            picked = subsample(len(y), early, seed)
            if picked is not None:
                keep = np.flatnonzero(np.isin(g, picked))
                _, codes = np.unique(g[keep], return_inverse=True)
                sub_target = rankcorr.Target.of(y[picked])
                rows.append(keep)
                sub_groups.append(codes.astype(np.int64))
                centred.append(sub_target.centred)
                dense.append(sub_target.dense)
                self.ties[t, 1] = sub_target.ties
                row[6:9] = [len(keep), arch_lo, len(picked)]
                arch_lo += len(picked)
                s_lo += len(keep)
            self.tables[t] = row
            lo += len(g)
        self.cols = np.ascontiguousarray(np.concatenate(columns, axis=1))
        self.groups = np.concatenate(groups)
        self.sample_rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        self.sample_groups = np.concatenate(sub_groups) if sub_groups else np.zeros(0, np.int64)
        self.centred, self.dense = np.concatenate(centred), np.concatenate(dense)

    def evaluate(
        self, codes: np.ndarray, lens: np.ndarray, todo: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(loss, verdict)`` of rows ``todo`` of ``codes`` (default: every row), in the order of ``todo``. With
        ``jobs`` > 1, threads evaluate interleaved parts of ``todo`` (the kernel releases the GIL); each formula is
        computed by one thread from its own inputs, so the outcome does not depend on ``jobs``."""
        todo = np.arange(len(lens)) if todo is None else np.asarray(todo, np.int64)
        verdict = np.full(len(lens), -1, np.int32)
        if len(todo):
            verdict[todo] = self.structure.violations(codes[todo], lens[todo])
        parts = min(self.jobs, len(todo) // MIN_PER_THREAD)
        if parts < 2:
            return self._kernel(codes, lens, todo, verdict)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.jobs - 1, thread_name_prefix="lpzero-sr-eval")
        loss, out = np.empty(len(todo)), np.empty(len(todo), np.int32)
        futures = [self._pool.submit(self._kernel, codes, lens, todo[k::parts], verdict) for k in range(1, parts)]
        loss[::parts], out[::parts] = self._kernel(codes, lens, todo[::parts], verdict)  # part 0 in this thread
        for k, future in enumerate(futures, start=1):
            loss[k::parts], out[k::parts] = future.result()
        return loss, out

    def _kernel(
        self, codes: np.ndarray, lens: np.ndarray, todo: np.ndarray, verdict: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.kernels.evaluate(
            codes, lens, todo, verdict, self.sym_op, self.sym_col, self.sym_const, self.cols, self.kernels.SLOTS,
            self.scoring, self.reduce, self.loops,
        )  # fmt: skip

    def values(self, codes: np.ndarray, lens: np.ndarray, table: int = 0) -> np.ndarray:
        """``(len(lens), rows)``: each formula's values on the rows of table ``table`` (before aggregation)."""
        lo, n = self.tables[table, 0], self.tables[table, 1]
        return self.kernels.values(
            codes, lens, self.sym_op, self.sym_col, self.sym_const, self.cols, self.kernels.SLOTS, lo, n, self.loops
        )

    def close(self) -> None:
        """Stop the evaluation threads (a later call starts them again)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
