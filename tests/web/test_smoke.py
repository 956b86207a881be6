from tests import factories


def test_family_signs_in_and_sees_household(db, sign_in, client):
    household = factories.make_household(db, guardians=2, students=3)
    guardian = factories.guardians_of(db, household)[0]
    sign_in(guardian)
    page = client.get("/family/")
    assert page.status_code == 200
    assert household.name in page.get_data(as_text=True)


def test_staff_signs_in_with_second_factor_and_opens_household(db, sign_in, client):
    household = factories.make_household(db)
    staff = factories.make_staff(db)
    sign_in(staff)
    assert client.get(f"/staff/households/{household.id}").status_code == 200
