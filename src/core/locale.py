"""Chinese first (DESIGN rule 9): pages are in zh-hans unless the person chose English.

Django's ``LocaleMiddleware`` would follow the browser's ``Accept-Language``; on a government
portal the language is the platform's, so pages follow only the 中文 / EN switch (the language
cookie set by ``/i18n/setlang/``). The API still honours ``Accept-Language``, so an integrator can
ask for English error messages.
"""

from __future__ import annotations

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        if request.path.startswith("/api/"):
            return super().process_request(request)
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
