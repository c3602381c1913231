"""The fit pipeline, as named stages, one module each:

* :mod:`~lpzero_sr.fit.prepare`: the training rows' finite columns and their quantiles, fitted once;
* :mod:`~lpzero_sr.fit.search`: one search (an engine of :mod:`lpzero_sr.search`), or a bag of them;
* :mod:`~lpzero_sr.fit.compose`: one member chosen from each front (:mod:`~lpzero_sr.fit.selection`), and the
  optional ensemble (:mod:`~lpzero_sr.fit.bagging`, :mod:`~lpzero_sr.fit.additive`);
* :mod:`~lpzero_sr.fit.assess`: train and held-out metrics of the proxy, the front, the best column and the peers;
* write: :class:`lpzero_sr.rundir.RunDir`.

:mod:`~lpzero_sr.fit.pipeline` runs them (:func:`~lpzero_sr.fit.pipeline.fit_table`,
:func:`~lpzero_sr.fit.pipeline.fit_tables`); :mod:`~lpzero_sr.fit.protocol` repeats a fit over split seeds. This
package's own import is light: import the stage you use.
"""
