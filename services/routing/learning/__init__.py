"""The learned half of choosing a concern's category; the keywords are ``categories``.

- ``features``: what the model reads of a text (characters, words, English stems, the
  keywords found), counted; one function used to train and to score, so both agree;
- ``model``: a trained model as data (JSON: each feature's weights), and its scoring:
  the probability of each category and the words that weighed most. Pure Python: routing
  scores without scikit-learn, which only the admin's training needs;
- ``choice``: the keywords and the model combined into one decision, with the reason the
  timeline keeps;
- ``corpus``: the project's labelled texts (``corpus/*.jsonl``), to evaluate and to start a
  deployment's model.

Training lives with the operator (``services.admin.category_training``): the tickets whose
category the office confirmed or corrected are the labels.
"""
