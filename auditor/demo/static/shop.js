// Harbor & Pine: the cart badge, and a pay button that cannot be pressed twice.
(function () {
  "use strict";

  function updateCartBadge() {
    var badge = document.querySelector("[data-cart-count]");
    if (!badge) return;
    fetch("/cart/count", { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        badge.textContent = String(data.count);
        badge.hidden = data.count === 0;
      })
      .catch(function () { badge.hidden = true; });
  }

  // A second click while the first payment is in flight would charge the card twice.
  function guardPayForm() {
    var form = document.querySelector("[data-pay-form]");
    if (!form || form.hasAttribute("data-allow-resubmit")) return;
    form.addEventListener("submit", function (event) {
      var button = form.querySelector("button[type=submit]");
      if (form.dataset.submitted) {
        event.preventDefault();
        return;
      }
      form.dataset.submitted = "1";
      if (button) {
        button.disabled = true;
        button.textContent = "Processing…";
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    updateCartBadge();
    guardPayForm();
  });
})();
