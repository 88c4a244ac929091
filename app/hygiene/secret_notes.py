"""The kind note a customer gets after a secret is redacted from their comment, in the desk's six languages.

It says what stays visible (a key's first and last few characters, quoted as "sk_live_…abcd") and asks, as the
support guide does, to share only those, and never a password.
"""

from __future__ import annotations

from app.incident.model import closing_language

# (thanks and keys kept, password hidden, the guide's ask)
NOTES: dict[str, tuple[str, str, str]] = {
    "en": ("Thank you for your message. To keep your account safe, we have hidden the middle of the key you shared "
           "in this ticket; only {kept} remains visible.",
           "To keep your account safe, we have hidden the password you shared in this ticket.",
           "Next time, please share only the first and last few characters of an API key or token (that is all we "
           "need to find it), and never a password. If the key or password is still in use, we recommend changing it."),
    "fr": ("Merci pour votre message. Pour protéger votre compte, nous avons masqué le milieu de la clé que vous avez "
           "partagée dans ce ticket ; seul {kept} reste visible.",
           "Pour protéger votre compte, nous avons masqué le mot de passe que vous avez partagé dans ce ticket.",
           "À l'avenir, merci de ne partager que les premiers et derniers caractères d'une clé API ou d'un jeton "
           "(cela nous suffit pour la retrouver), et jamais de mot de passe. Si la clé ou le mot de passe est encore "
           "utilisé, nous vous conseillons de le changer."),
    "es": ("Gracias por su mensaje. Para proteger su cuenta, hemos ocultado la parte central de la clave que compartió "
           "en este ticket; solo queda visible {kept}.",
           "Para proteger su cuenta, hemos ocultado la contraseña que compartió en este ticket.",
           "La próxima vez, comparta solo los primeros y últimos caracteres de una clave API o token (es todo lo que "
           "necesitamos para encontrarla) y nunca una contraseña. Si la clave o la contraseña sigue en uso, le "
           "recomendamos cambiarla."),
    "ru": ("Спасибо за сообщение. Чтобы защитить ваш аккаунт, мы скрыли середину ключа, которым вы поделились в этом "
           "тикете; видно только {kept}.",
           "Чтобы защитить ваш аккаунт, мы скрыли пароль, которым вы поделились в этом тикете.",
           "В следующий раз, пожалуйста, сообщайте только несколько начальных и несколько конечных символов API ключа "
           "или токена (этого достаточно, чтобы его найти) и никогда не сообщайте пароль. Если ключ или пароль ещё "
           "используется, рекомендуем его сменить."),
    "de": ("Vielen Dank für Ihre Nachricht. Zum Schutz Ihres Kontos haben wir die Mitte des Schlüssels, den Sie in "
           "diesem Ticket geteilt haben, unkenntlich gemacht; sichtbar bleibt nur {kept}.",
           "Zum Schutz Ihres Kontos haben wir das Passwort, das Sie in diesem Ticket geteilt haben, "
           "unkenntlich gemacht.",
           "Bitte teilen Sie künftig nur die ersten und letzten Zeichen eines API-Schlüssels oder Tokens (mehr "
           "brauchen wir nicht, um ihn zu finden) und niemals ein Passwort. Wenn der Schlüssel oder das Passwort "
           "noch verwendet wird, empfehlen wir, ihn zu ändern."),
    "pt": ("Obrigado pela sua mensagem. Para proteger sua conta, ocultamos o meio da chave que você compartilhou neste "
           "ticket; apenas {kept} continua visível.",
           "Para proteger sua conta, ocultamos a senha que você compartilhou neste ticket.",
           "Da próxima vez, compartilhe apenas os primeiros e os últimos caracteres de uma chave de API ou token (é "
           "tudo de que precisamos para encontrá-la) e nunca uma senha. Se a chave ou a senha ainda estiver em uso, "
           "recomendamos trocá-la."),
}


def note_language(locale: str | None, default: str) -> str:
    return closing_language(locale, set(NOTES), default if default in NOTES else "en")


def redaction_note(language: str, kept: list[str], password: bool) -> str:
    """The note for a comment whose keys now show only `kept` ("sk_live_…abcd"), and which held a password."""
    keys, hidden_password, ask = NOTES[language]
    parts = [keys.format(kept=", ".join(kept))] if kept else []
    if password:
        parts.append(hidden_password)
    return " ".join(parts) + "\n\n" + ask
