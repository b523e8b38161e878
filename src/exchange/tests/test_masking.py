from exchange.masking import mask_generic, mask_id_card, mask_name, mask_phone


def test_id_card_keeps_area_code_and_last_four():
    assert mask_id_card("430102199001011234") == "430102********1234"


def test_name_keeps_first_character():
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"


def test_phone_keeps_prefix_and_last_four():
    assert mask_phone("13812345678") == "138****5678"


def test_short_values_are_fully_masked():
    assert mask_phone("12") == "**"
    assert mask_generic("ab") == "**"
    assert mask_id_card("123") == "***"
