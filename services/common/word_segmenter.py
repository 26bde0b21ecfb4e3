"""The ``WordSegmenter`` dependency: jieba's dictionary loaded when a service starts
(``services.common.words.load``, about a second of CPU), so that no request or message
waits for it. Routing cuts every new concern; reporting every ticket it keeps."""
from nameko.extensions import DependencyProvider

from services.common import words


class WordSegmenter(DependencyProvider):
    def setup(self):
        words.load()
