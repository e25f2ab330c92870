"""The column headers of real exports, recognised without ``--map``.

A hand-kept spreadsheet or an accounting export (1C, Merit, Directo, a till) names its columns
in the language of its user: ``Дата;Клиент;Сумма``, ``Kuupäev;Klient;Summa``. Each of our
columns lists the headers that mean it, in Russian, Estonian and English, as *tiers*: the
first tier whose header the file has wins, so that a specific header (``Дата заказа``, ``Код
клиента``) beats a general one (``Дата``, ``Клиент``) in a file that has both. Two file
columns matching the same tier are ambiguous and named in an error; ``--map`` always wins.

Headers are compared after :func:`header_key`: case, spaces, punctuation and ``ё`` do not
matter (``E-mail``, ``e mail`` and ``EMAIL`` are one header).
"""

from __future__ import annotations

import re
import unicodedata

from regulars.domain.tables import Kind

Tiers = tuple[tuple[str, ...], ...]


def header_key(header: str) -> str:
    """The form headers are compared in: lower case, letters and digits only, ё as е."""
    text = unicodedata.normalize("NFC", header).casefold().replace("ё", "е")
    return re.sub(r"[\W_]+", "", text)


# -- columns that mean the same in every table --------------------------------------------------

# The customer a row belongs to. A code beats a name: 1C exports often give both, the code
# ("Код клиента", "Код контрагента") being the stable one; the name ("Контрагент" in 1C,
# "Покупатель" in trade documents, "Klient" in Estonian tills) is used when it is alone.
_CUSTOMER: Tiers = (
    ("customer_id", "Код клиента", "Код покупателя", "Код контрагента", "ID клиента",
     "Customer ID", "Customer code", "Customer no", "Client ID", "Kliendi kood", "Kliendi ID",
     "Kliendi nr", "Kliendikood"),
    ("Клиент", "Покупатель", "Контрагент", "Заказчик", "Customer", "Client", "Buyer",
     "Klient", "Ostja", "Tellija"),
)
_NAME: Tiers = (
    ("name", "ФИО", "Наименование", "Имя", "Имя клиента", "Name", "Full name", "Customer name",
     "Nimi", "Kliendi nimi"),
    ("Клиент", "Покупатель", "Контрагент", "Klient"),
)
_EMAIL: Tiers = (("email", "E-mail", "Эл. почта", "Электронная почта", "Почта", "Mail",
                  "Email address", "E-post", "Meil"),)
_PHONE: Tiers = (("phone", "Телефон", "Тел", "Мобильный", "Моб. телефон", "Phone", "Mobile",
                  "Telephone", "Tel", "Telefon", "Mobiil", "Telefoninumber"),)
_MANAGER: Tiers = (("manager", "Менеджер", "Ответственный", "Ответственный менеджер",
                    "Account manager", "Sales rep", "Salesperson", "Haldur", "Müügiesindaja",
                    "Vastutaja"),)
_CURRENCY: Tiers = (("currency", "Валюта", "Currency", "Valuuta"),)

HEADERS: dict[Kind, dict[str, Tiers]] = {
    Kind.CUSTOMERS: {
        "customer_id": (_CUSTOMER[0] + ("Код", "ID", "Kood"),),
        "name": _NAME,
        "email": _EMAIL,
        "phone": _PHONE,
        "created_at": (("created_at", "Дата регистрации", "Дата создания", "Клиент с",
                        "Registered", "Created", "Customer since", "Registreeritud",
                        "Loodud"),),
        "birthday": (("birthday", "День рождения", "Дата рождения", "Birthday",
                      "Date of birth", "Sünnipäev", "Sünniaeg"),),
        "manager": _MANAGER,
    },
    Kind.ORDERS: {
        # the document's own number: 1C calls it "Номер" (of the "Документ")
        "order_id": (("order_id", "Номер заказа", "Номер документа", "Order no", "Order number",
                      "Order ID", "Tellimuse nr", "Tellimuse number", "Arve nr"),
                     ("Номер", "Документ", "Number", "No", "Nr", "Dokument")),
        "customer_id": _CUSTOMER,
        "ordered_at": (("ordered_at", "Дата заказа", "Дата продажи", "Дата документа",
                        "Order date", "Sale date", "Tellimuse kuupäev", "Müügi kuupäev",
                        "Arve kuupäev"),
                       ("Дата", "Date", "Kuupäev")),
        "amount": (("amount", "Сумма документа", "Сумма заказа", "Сумма с НДС", "Итого",
                    "Total", "Order total", "Amount", "Summa käibemaksuga", "Kokku"),
                   ("Сумма", "Sum", "Summa")),
        "currency": _CURRENCY,
        "discount_amount": (("discount_amount", "Скидка", "Сумма скидки", "Discount",
                             "Allahindlus", "Soodustus"),),
        "cost": (("cost", "Себестоимость", "Cost", "Cost of goods", "Omahind"),),
        "channel": (("channel", "Канал", "Канал продаж", "Channel", "Kanal", "Müügikanal"),),
        "quantity": (("quantity", "Количество", "Кол-во", "Quantity", "Qty", "Kogus"),),
        "categories": (("categories", "Категория", "Категории", "Группа товаров",
                        "Category", "Categories", "Kategooria"),),
        "addons": (("addons", "Услуги", "Доп. услуги", "Add-ons", "Services", "Lisateenused"),),
    },
    Kind.RETURNS: {
        "return_id": (("return_id", "Номер возврата", "Return no", "Return number",
                       "Tagastuse nr", "Kreeditarve nr"),
                      ("Номер", "Документ", "Number", "No", "Nr")),
        "order_id": (("order_id", "Номер заказа", "Заказ", "Основание", "Документ-основание",
                      "Order no", "Order number", "Order", "Tellimuse nr", "Tellimus"),),
        "returned_at": (("returned_at", "Дата возврата", "Return date", "Tagastuse kuupäev"),
                        ("Дата", "Date", "Kuupäev")),
        "amount": (("amount", "Сумма возврата", "Amount", "Total", "Summa"), ("Сумма", "Sum")),
        "reason": (("reason", "Причина", "Причина возврата", "Reason", "Põhjus"),),
    },
    Kind.INVOICES: {
        "invoice_id": (("invoice_id", "Номер счета", "Номер счёта", "Счет", "Счёт",
                        "Invoice no", "Invoice number", "Invoice", "Arve nr", "Arve number",
                        "Arve"),
                       ("Номер", "Документ", "Number", "No", "Nr")),
        "customer_id": _CUSTOMER,
        # an invoice's own date is not when it is due: only due-date headers mean due_at
        "due_at": (("due_at", "Срок оплаты", "Оплатить до", "Due date", "Due", "Payment due",
                    "Maksetähtaeg", "Tähtaeg"),),
        "amount": (("amount", "Сумма счета", "Сумма счёта", "Total", "Amount",
                    "Summa käibemaksuga", "Kokku"),
                   ("Сумма", "Sum", "Summa")),
        "order_id": (("order_id", "Номер заказа", "Заказ", "Order no", "Order",
                      "Tellimuse nr", "Tellimus"),),
        "paid_at": (("paid_at", "Дата оплаты", "Оплачен", "Paid", "Paid at", "Payment date",
                     "Makse kuupäev", "Tasutud"),),
    },
    Kind.INTERACTIONS: {
        "customer_id": _CUSTOMER,
        "at": (("at", "Дата", "Date", "Kuupäev", "Время", "Time", "Aeg"),),
        "channel": (("channel", "Канал", "Channel", "Kanal"),),
        "direction": (("direction", "Направление", "Direction", "Suund"),),
        "kind": (("kind", "Тип", "Вид", "Type", "Kind", "Tüüp", "Liik"),),
        "responded_at": (("responded_at", "Дата ответа", "Responded", "Vastatud"),),
        "outcome": (("outcome", "Результат", "Outcome", "Result", "Tulemus"),),
        "manager": _MANAGER,
    },
    Kind.FEEDBACK: {
        "customer_id": _CUSTOMER,
        "at": (("at", "Дата", "Date", "Kuupäev"),),
        "nps": (("nps", "NPS", "Оценка NPS"),),
        "csat": (("csat", "CSAT", "Оценка", "Rating", "Hinne"),),
        "complaint": (("complaint", "Жалоба", "Complaint", "Kaebus"),),
        "text": (("text", "Отзыв", "Комментарий", "Текст", "Comment", "Review", "Tagasiside",
                  "Kommentaar"),),
    },
    Kind.REFERRALS: {
        "referrer_id": (("referrer_id", "Кто пригласил", "Рекомендатель", "Referrer",
                         "Soovitaja"),),
        "referee_id": (("referee_id", "Приглашенный", "Приглашённый", "Referee", "Referred",
                        "Soovitatu"),),
        "at": (("at", "Дата", "Date", "Kuupäev"),),
        "code": (("code", "Код", "Промокод", "Code", "Promo code", "Kood", "Sooduskood"),),
    },
}
"""Per table, our column -> its tiers of recognised headers (the first tier found wins)."""

# The document a credit note corrects: an order or invoice file's column naming the order a
# negative row returns (1C writes it as "Основание" or "Документ-основание").
BASE_DOCUMENT: tuple[str, ...] = (
    "base_document", "Основание", "Документ-основание", "Документ основание", "Base document",
    "Original order", "Original invoice", "Credit for", "Alusdokument", "Algdokument",
)
