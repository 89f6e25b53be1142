"""Account forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, Email, EqualTo, Length, Optional, Regexp

from portfolio.accounts.models import Role
from portfolio.accounts.sign_in import MIN_PASSWORD_LENGTH
from portfolio.core.labels import label


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField("Keep me signed in on this device")


def _new_password(label: str = "New password") -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=1024,
                message=f"Use at least {MIN_PASSWORD_LENGTH} characters.",
            ),
        ],
        description=f"At least {MIN_PASSWORD_LENGTH} characters.",
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = _new_password()
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("new_password", "The two passwords differ.")],
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    new_password = _new_password()
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("new_password", "The two passwords differ.")],
    )


class RegisterForm(FlaskForm):
    display_name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = _new_password("Password")


class AcceptInvitationForm(FlaskForm):
    display_name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    password = _new_password("Choose a password")


class OrganizationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    url = StringField(
        "Website", validators=[DataRequired(), URL(require_tld=False), Length(max=500)]
    )
    email = EmailField("Contact email", validators=[DataRequired(), Email(), Length(max=254)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    allows_self_registration = BooleanField("Workers may create their own account")
    linkedin_organization_id = StringField(
        "LinkedIn organization id",
        validators=[
            Optional(),
            Length(max=20),
            Regexp(r"^\d+$", message="The LinkedIn organization id is a number."),
        ],
        description="The number in your LinkedIn company page's admin address "
        "(linkedin.com/company/<number>/admin). “Add to LinkedIn” then links the "
        "certification to your page.",
    )
    logo = FileField(
        "Logo (PNG, JPEG or WebP, up to 2 MB)",
        validators=[
            FileAllowed(
                ["png", "jpg", "jpeg", "webp"], "The logo must be a PNG, JPEG or WebP image."
            )
        ],
    )


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField(
        "Role",
        choices=[SelectChoice(r.value, label(r)) for r in Role],
        default=Role.LEARNER.value,
    )


class SsoSettingsForm(FlaskForm):
    issuer = StringField(
        "Issuer URL",
        validators=[DataRequired(), URL(require_tld=False), Length(max=500)],
        description="As the provider spells it, e.g. https://login.example.org/realms/staff; "
        "its settings are read from /.well-known/openid-configuration under it.",
    )
    client_id = StringField("Client id", validators=[DataRequired(), Length(max=255)])
    client_secret = PasswordField(
        "Client secret",
        validators=[Optional(), Length(max=1024)],
        description="Stored encrypted and never shown again. Leave empty to keep the stored one.",
    )
    button_label = StringField(
        "Button label",
        validators=[DataRequired(), Length(max=80)],
        description="The sign-in page shows “Sign in with …” followed by this.",
    )
    default_role = SelectField(
        "Role for people who join by signing in",
        choices=[SelectChoice(r.value, label(r)) for r in Role],
        default=Role.LEARNER.value,
    )
    allowed_domains = StringField(
        "Allowed email domains",
        validators=[Optional(), Length(max=2000)],
        description="Separated by commas, e.g. example.org, staff.example.org. Empty: any "
        "address the provider has verified.",
    )
    is_enabled = BooleanField("Single sign-on is switched on", default=True)
    is_password_sign_in_disabled = BooleanField(
        "Password sign-in disabled for members of this organization (its admins keep theirs)"
    )
