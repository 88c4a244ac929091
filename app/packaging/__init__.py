"""Validate and zip the Zendesk sidebar app offline, as zendesk_apps_support and `zcli apps:package` do."""

# Rule sources, all under zendesk/zendesk_apps_support lib/zendesk_apps_support/ unless named:
# validations/*.rb, manifest.rb (+ manifest/parameter.rb, manifest/location_options.rb),
# location.rb, product.rb, app_version.rb, package.rb; messages from config/locales/en.yml.
# The file walk and ignore rules come from zendesk/zcli packages/zcli-apps/src/lib/package.ts.

from app.packaging.archive import build_package
from app.packaging.files import package_files
from app.packaging.validation import validate_app

__all__ = ["build_package", "package_files", "validate_app"]
