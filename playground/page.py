"""The playground's page: its form, with this server's caps and providers, and the page."""

from __future__ import annotations

from flask import current_app, render_template
from werkzeug.datastructures import MultiDict

from playground import picker
from playground.budget import OverBudget
from playground.composer import (
    blank_turn,
    first_problem,
    last_content,
    turn_views,
    variable_views,
)
from playground.conversation import ROLES
from playground.editor import default_turns, write_turns
from playground.forms import ConversationForm, select_choices
from playground.owners import current_owner
from playground.providers import CUSTOM, Providers
from playground.render import present
from playground.reopen import form_data
from playground.run import Run
from playground.store import current_store
from playground.upstream import ChatClient


def client() -> ChatClient:
    """The default provider's client."""
    return providers().default


def providers() -> Providers:
    return current_app.extensions["providers"]


def images():
    """This visitor's uploaded images, as the form reads and keeps them."""
    return current_store().images.for_owner(current_owner())


def conversation_form(formdata, extra_errors: dict | None = None) -> ConversationForm:
    """The form with this server's caps and provider choices, from explicit fields."""
    config = current_app.config
    form = ConversationForm(formdata, max_tokens_cap=config["PLAYGROUND_MAX_TOKENS_CAP"],
                            prompt_cap=config["PLAYGROUND_PROMPT_CAP"], images=images(),
                            extra_errors=extra_errors)
    form.provider.choices = select_choices(providers().choices())
    return form


def empty_fields() -> MultiDict:
    """A new conversation: the default model, an empty system prompt and a user turn."""
    return MultiDict([("model", picker.linked_model() or
                       current_app.config["PLAYGROUND_DEFAULT_MODEL"]),
                      *write_turns(default_turns())])


def form_for(run: Run, **kwargs) -> ConversationForm:
    """The form filled in as it was when this run was sent, provider included."""
    custom = run.provider == CUSTOM
    base_url = run.endpoint.removesuffix("/chat/completions") if custom else None
    return conversation_form(form_data(run, base_url, **kwargs))


def render_playground(form: ConversationForm | None = None, run: Run | None = None, *,
                      notice: str | None = None, status: str | None = None,
                      focus: str | None = None, record=None, thread=None,
                      limit: OverBudget | None = None, live_code: dict | None = None) -> str:
    """The whole page: the form (as typed) and, when there is one, the run's result.

    ``record`` is the saved run's row, for its page's share, export and delete actions;
    ``thread`` the runs it continues; ``status`` what an editing button did, announced, and
    ``focus`` the control that gets focus (else the first with a message, else the last turn).
    """
    if form is None:
        form = conversation_form(empty_fields())
    chat = client()
    current_owner()  # settle the owner id with the form's page, before runs race to create it
    return render_template(
        "index.html", form=form, view=present(run) if run else None, notice=notice,
        status=status, turns=turn_views(form), variables=variable_views(form),
        focus=focus or first_problem(form) or last_content(form), blank_turn=blank_turn,
        roles=ROLES, demo=chat.demo, base_url=chat.base_url, record=record, thread=thread,
        limit=limit, providers=providers(), live_code=live_code,
        catalogue=picker.page_context(form, form.provider.data, form.posted))

