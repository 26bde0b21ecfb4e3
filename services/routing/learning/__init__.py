"""The learned half of choosing a concern's category; the keywords are ``categories``.

- ``features``: what the model reads of a text (characters, words, English stems, the
  keywords found), counted; one function used to train and to score, so both agree;
- ``model``: a trained model as data (JSON: each feature's weights), and its scoring:
  the probability of each category and the words that weighed most. Pure Python: routing
  scores without loading scikit-learn, which only the training's own process loads;
- ``choice``: the keywords and the model combined into one decision, with the reason the
  timeline keeps;
- ``corpus``: the project's labelled texts (``corpus/*.jsonl``), to evaluate and to start a
  deployment's model;
- ``training``: a model fitted with scikit-learn, in a process of its own
  (``python -m services.routing.learning train``, run by ``use_cases.category_model``):
  the tickets whose category the office confirmed or corrected are the labels;
- ``evaluation``: the keywords alone, a model alone and both, on texts the models did not
  learn from (``python -m services.routing.learning evaluate``).
"""
