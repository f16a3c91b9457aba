"""Named models run on a text, with no HTTP: the part of attnviz that finds a checkpoint or a
Hugging Face directory by its name (``registry``), loads and keeps it within a byte budget
(``model_cache``), runs it the same way for every family (``adapters``) and writes the documents,
overviews, timelines and step-throughs (``service``).

It is called the runtime because it is what runs the models for every front door: the web
service (``attnviz.server``, whose routes call it and map its errors to statuses), ``attnviz
html`` and ``attnviz.save_html``. It raises the domain errors of :mod:`attnviz.errors` and never
imports ``attnviz.server``, so the notebook layer and the command line use it without loading
FastAPI (``tests/unit/test_architecture.py`` holds both rules)."""
