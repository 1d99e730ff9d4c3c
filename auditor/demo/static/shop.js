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

  // Product grids filled from a JSON endpoint ([data-product-grid="/api/..."]), as many shops load
  // recommendations; their images are lazy (data-src, loaded when scrolled into view).
  function fillProductGrids() {
    var grids = document.querySelectorAll("[data-product-grid]");
    Array.prototype.forEach.call(grids, function (grid) {
      var list = grid.querySelector("[data-grid-items]") || grid;
      fetch(grid.getAttribute("data-product-grid"), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (items) {
          items.forEach(function (item) {
            var li = document.createElement("li");
            li.className = "card";
            var a = document.createElement("a");
            a.href = item.url;
            var img = document.createElement("img");
            img.className = "card-img lazy";
            img.setAttribute("data-src", item.image);
            img.alt = "";
            img.width = 400;
            img.height = 300;
            var name = document.createElement("h3");
            name.textContent = item.name;
            a.appendChild(img);
            a.appendChild(name);
            li.appendChild(a);
            list.appendChild(li);
          });
          lazyImages(list);
        })
        .catch(function () { grid.hidden = true; });
    });
  }

  function lazyImages(root) {
    var images = root.querySelectorAll("img[data-src]");
    if (!("IntersectionObserver" in window)) {
      Array.prototype.forEach.call(images, function (img) { img.src = img.dataset.src; });
      return;
    }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) return;
        entry.target.src = entry.target.dataset.src;
        observer.unobserve(entry.target);
      });
    });
    Array.prototype.forEach.call(images, function (img) { observer.observe(img); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    updateCartBadge();
    guardPayForm();
    fillProductGrids();
  });
})();
